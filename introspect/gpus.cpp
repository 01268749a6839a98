// The GPU table of gpus.h and the lookup by name.
#include <lenet/introspect/gpus.h>

#include <algorithm>
#include <cctype>

namespace lenet::introspect {

namespace {

// Words that NVIDIA puts in front of a model name and that users often leave out.
constexpr std::string_view kVendorWords[] = {"nvidia", "geforce", "tesla", "quadro"};

// The name's words, lowercase, split at anything that is not a letter or digit, without the
// vendor words in front: "NVIDIA GeForce RTX 3080-Ti" -> rtx, 3080, ti.
std::vector<std::string> words_of(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  std::size_t skip = 0;
  while (skip < words.size() &&
         std::find(std::begin(kVendorWords), std::end(kVendorWords), words[skip]) !=
             std::end(kVendorWords)) {
    ++skip;
  }
  words.erase(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(skip));
  return words;
}

// The key two spellings of one GPU share: the words run together, without a leading "rtx" or
// "gtx" ("RTX 3080 Ti" and "3080ti" both give "3080ti").
std::string key_of(const std::vector<std::string>& words, std::size_t count) {
  std::string key;
  for (std::size_t i = 0; i < count; ++i) key += words[i];
  for (const std::string_view series : {"rtx", "gtx"}) {
    if (key.size() > series.size() && key.rfind(series, 0) == 0) return key.substr(series.size());
  }
  return key;
}

std::string key_of(std::string_view name) {
  const std::vector<std::string> words = words_of(name);
  return key_of(words, words.size());
}

// Edits (insert, delete, replace, swap two neighbours) that turn a into b: "3008" is one swap
// from "3080" (optimal string alignment distance).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

const std::vector<GpuModel>& known_gpus() {
  static const std::vector<GpuModel> kGpus = {
      // Maxwell
      {"GeForce GTX 750", {5, 0}}, {"GeForce GTX 750 Ti", {5, 0}}, {"GeForce GTX 950", {5, 2}},
      {"GeForce GTX 960", {5, 2}}, {"GeForce GTX 970", {5, 2}}, {"GeForce GTX 980", {5, 2}},
      {"GeForce GTX 980 Ti", {5, 2}}, {"GeForce GTX TITAN X", {5, 2}}, {"Tesla M40", {5, 2}},
      {"Tesla M60", {5, 2}}, {"Jetson Nano", {5, 3}},
      // Pascal
      {"Tesla P100", {6, 0}}, {"GeForce GTX 1050", {6, 1}}, {"GeForce GTX 1050 Ti", {6, 1}},
      {"GeForce GTX 1060", {6, 1}}, {"GeForce GTX 1070", {6, 1}}, {"GeForce GTX 1070 Ti", {6, 1}},
      {"GeForce GTX 1080", {6, 1}}, {"GeForce GTX 1080 Ti", {6, 1}}, {"TITAN Xp", {6, 1}},
      {"Tesla P4", {6, 1}}, {"Tesla P40", {6, 1}}, {"Jetson TX2", {6, 2}},
      // Volta
      {"Tesla V100", {7, 0}}, {"TITAN V", {7, 0}}, {"Jetson AGX Xavier", {7, 2}},
      {"Jetson Xavier NX", {7, 2}},
      // Turing
      {"GeForce GTX 1650", {7, 5}}, {"GeForce GTX 1660", {7, 5}}, {"GeForce GTX 1660 Ti", {7, 5}},
      {"GeForce GTX 1660 SUPER", {7, 5}}, {"GeForce RTX 2060", {7, 5}},
      {"GeForce RTX 2060 SUPER", {7, 5}}, {"GeForce RTX 2070", {7, 5}},
      {"GeForce RTX 2070 SUPER", {7, 5}}, {"GeForce RTX 2080", {7, 5}},
      {"GeForce RTX 2080 SUPER", {7, 5}}, {"GeForce RTX 2080 Ti", {7, 5}}, {"TITAN RTX", {7, 5}},
      {"Tesla T4", {7, 5}}, {"Quadro RTX 4000", {7, 5}}, {"Quadro RTX 5000", {7, 5}},
      {"Quadro RTX 6000", {7, 5}}, {"Quadro RTX 8000", {7, 5}},
      // Ampere
      {"A100", {8, 0}}, {"A30", {8, 0}}, {"A800", {8, 0}}, {"GeForce RTX 3050", {8, 6}},
      {"GeForce RTX 3060", {8, 6}}, {"GeForce RTX 3060 Ti", {8, 6}}, {"GeForce RTX 3070", {8, 6}},
      {"GeForce RTX 3070 Ti", {8, 6}}, {"GeForce RTX 3080", {8, 6}},
      {"GeForce RTX 3080 Ti", {8, 6}}, {"GeForce RTX 3090", {8, 6}},
      {"GeForce RTX 3090 Ti", {8, 6}}, {"A2", {8, 6}}, {"A10", {8, 6}}, {"A10G", {8, 6}},
      {"A16", {8, 6}}, {"A40", {8, 6}}, {"RTX A2000", {8, 6}}, {"RTX A4000", {8, 6}},
      {"RTX A4500", {8, 6}}, {"RTX A5000", {8, 6}}, {"RTX A6000", {8, 6}},
      {"Jetson Orin", {8, 7}}, {"Jetson AGX Orin", {8, 7}}, {"Jetson Orin NX", {8, 7}},
      {"Jetson Orin Nano", {8, 7}},
      // Ada
      {"GeForce RTX 4060", {8, 9}}, {"GeForce RTX 4060 Ti", {8, 9}}, {"GeForce RTX 4070", {8, 9}},
      {"GeForce RTX 4070 SUPER", {8, 9}}, {"GeForce RTX 4070 Ti", {8, 9}},
      {"GeForce RTX 4070 Ti SUPER", {8, 9}}, {"GeForce RTX 4080", {8, 9}},
      {"GeForce RTX 4080 SUPER", {8, 9}}, {"GeForce RTX 4090", {8, 9}}, {"L4", {8, 9}},
      {"L40", {8, 9}}, {"L40S", {8, 9}}, {"RTX 4000 Ada", {8, 9}}, {"RTX 6000 Ada", {8, 9}},
      // Hopper
      {"H100", {9, 0}}, {"H200", {9, 0}}, {"H800", {9, 0}}, {"H20", {9, 0}}, {"GH200", {9, 0}},
      // Blackwell
      {"B100", {10, 0}}, {"B200", {10, 0}}, {"GB200", {10, 0}}, {"B300", {10, 3}},
      {"GB300", {10, 3}}, {"Jetson Thor", {11, 0}}, {"Jetson AGX Thor", {11, 0}},
      {"GeForce RTX 5050", {12, 0}}, {"GeForce RTX 5060", {12, 0}},
      {"GeForce RTX 5060 Ti", {12, 0}}, {"GeForce RTX 5070", {12, 0}},
      {"GeForce RTX 5070 Ti", {12, 0}}, {"GeForce RTX 5080", {12, 0}},
      {"GeForce RTX 5090", {12, 0}}, {"RTX PRO 6000 Blackwell", {12, 0}}, {"DGX Spark", {12, 1}},
      {"GB10", {12, 1}},
  };
  return kGpus;
}

std::optional<GpuModel> find_gpu(std::string_view name) {
  const std::vector<std::string> words = words_of(name);
  // The longest run of leading words that names a GPU: "H100 80GB HBM3" is an H100.
  for (std::size_t count = words.size(); count > 0; --count) {
    const std::string key = key_of(words, count);
    for (const GpuModel& gpu : known_gpus()) {
      if (key_of(gpu.name) == key) return gpu;
    }
  }
  return std::nullopt;
}

std::vector<std::string> closest_gpus(std::string_view name, std::size_t count) {
  const std::string key = key_of(name);
  std::vector<std::pair<std::size_t, const GpuModel*>> ranked;
  for (const GpuModel& gpu : known_gpus()) ranked.push_back({edit_distance(key, key_of(gpu.name)), &gpu});
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ranked.size() && i < count; ++i) out.push_back(ranked[i].second->name);
  return out;
}

}  // namespace lenet::introspect
