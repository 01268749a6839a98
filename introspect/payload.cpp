// What is inside a payload: the kernels of a cubin, the directives of a PTX text.
#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include <lenet/introspect/elf.h>
#include <lenet/introspect/fatbin.h>

#include "detail.h"

namespace lenet::introspect {

namespace {

// st_other bit that marks a __global__ function in a cubin's symbol table (STO_CUDA_ENTRY).
// Out-of-line __device__ functions (in -rdc code) also get a FUNC symbol, a .text.<name> and a
// .nv.info.<name> section, but not this bit: it is the one reliable sign of a kernel.
constexpr std::uint8_t kSymbolCudaEntry = 0x10;
constexpr std::uint8_t kCudaAbiVersionSmInSecondByte = 8;

// .note.nv.tkinfo holds one note of owner "NVIDIA Corp" and type 2000 whose description is six
// u32 (a format version, a reserved word, then the offsets of the tool's name, its version
// line, its build line and its options in the string table that follows them):
//   2 0 1 7 0x36 0x60 | "\0ptxas\0Cuda compilation tools, release 13.0, V13.0.88\0Build ...\0-arch
//   sm_86 -m 64 \0"
constexpr std::string_view kToolkitNoteSection = ".note.nv.tkinfo";
constexpr std::string_view kNvidiaNoteOwner = "NVIDIA Corp";
constexpr std::uint32_t kToolkitNoteType = 2000;
constexpr std::uint64_t kToolkitNoteStrings = 24;
constexpr std::uint64_t kToolkitNoteVersionLine = 12;

// "13.0.88" from "Cuda compilation tools, release 13.0, V13.0.88"; the release ("13.0") when
// there is no V field; empty when neither is there.
std::string toolkit_version(std::string_view line) {
  const auto version_at = [&](std::size_t at) {
    const std::size_t end = line.find_first_not_of("0123456789.", at);
    return std::string(line.substr(at, end == std::string_view::npos ? end : end - at));
  };
  if (const std::size_t v = line.rfind(", V"); v != std::string_view::npos) {
    const std::string version = version_at(v + 3);
    if (!version.empty()) return version;
  }
  if (const std::size_t r = line.find("release "); r != std::string_view::npos) {
    return version_at(r + 8);
  }
  return "";
}

// Longer names are not demangled: the demangler recurses over the name's structure, and a
// hostile name should not get to choose that depth.
constexpr std::size_t kMaxDemangleLength = 4096;

// Splits PTX into words, skipping comments and quoted strings: enough to find directives
// (".version", ".target", ".entry") and the word after each.
class PtxWords {
 public:
  explicit PtxWords(std::string_view text) : text_(text) {}

  std::optional<std::string_view> next() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (is_space(c) || is_punct(c)) {
        ++pos_;
      } else if (text_.compare(pos_, 2, "//") == 0) {
        skip_past("\n");
      } else if (text_.compare(pos_, 2, "/*") == 0) {
        skip_past("*/");
      } else if (c == '"') {
        ++pos_;
        skip_past("\"");
      } else {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && !is_space(text_[pos_]) && !is_punct(text_[pos_]) &&
               text_[pos_] != '"' && text_.compare(pos_, 2, "//") != 0 &&
               text_.compare(pos_, 2, "/*") != 0) {
          ++pos_;
        }
        return text_.substr(start, pos_ - start);
      }
    }
    return std::nullopt;
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool is_punct(char c) {
    return c == '(' || c == ')' || c == '{' || c == '}' || c == ',' || c == ';';
  }
  void skip_past(std::string_view end) {
    const std::size_t at = text_.find(end, pos_);
    pos_ = at == std::string_view::npos ? text_.size() : at + end.size();
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

KernelName kernel_name(std::string_view mangled) {
  std::string name(mangled);
  return {name, detail::demangle(name)};
}

std::string demangle_itanium(const std::string& name) {
  // Only Itanium names start with _Z; a plain name such as "i" would otherwise demangle as a
  // type ("int").
  if (name.rfind("_Z", 0) != 0 || name.size() > kMaxDemangleLength) return name;
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> out(
      abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && out ? std::string(out.get()) : name;
}

}  // namespace

namespace detail {

std::string demangle(const std::string& name) {
  // In relocatable device code (-rdc) nvcc renames functions with internal linkage to
  // "__nv_static_<n>_<n characters naming the file>_<name>", so that two files' static kernels
  // stay apart after the device link; the readable form is that of <name>.
  constexpr std::string_view kStaticPrefix = "__nv_static_";
  if (name.rfind(kStaticPrefix, 0) != 0) return demangle_itanium(name);
  const std::size_t digits_end = name.find_first_not_of("0123456789", kStaticPrefix.size());
  if (digits_end == std::string::npos || digits_end == kStaticPrefix.size() ||
      digits_end - kStaticPrefix.size() > 4 || name[digits_end] != '_') {
    return name;
  }
  const std::size_t n = std::stoul(name.substr(kStaticPrefix.size()));
  const std::size_t rest = digits_end + 1 + n;
  if (rest >= name.size() || name[rest] != '_') return name;
  return demangle_itanium(name.substr(rest + 1));
}

bool looks_like_ptx(std::string_view text) {
  PtxWords words(text.substr(0, text.find('\0')));
  const std::optional<std::string_view> first = words.next();
  return first && *first == ".version";
}

}  // namespace detail

std::string cubin_toolkit(const ElfFile& cubin) {
  const ElfSection* section = cubin.find_section(kToolkitNoteSection);
  if (section == nullptr || section->type != kSectionNote || !section->has_file_bytes) return "";
  for (const ElfNote& note : cubin.notes(*section)) {
    if (note.name != kNvidiaNoteOwner || note.type != kToolkitNoteType) continue;
    return detail::with_context(std::string(kToolkitNoteSection), [&] {
      const ByteSpan strings = note.desc.from(kToolkitNoteStrings, "toolkit note strings");
      const std::uint32_t line_at = note.desc.u32(kToolkitNoteVersionLine);
      return toolkit_version(strings.cstring(line_at, "toolkit version line"));
    });
  }
  return "";
}

CubinInfo parse_cubin(ByteSpan bytes) {
  const ElfFile elf(bytes);
  if (elf.machine() != kElfMachineCuda) {
    throw FormatError("not a cubin: e_machine is " + std::to_string(elf.machine()) + ", expected " +
                      std::to_string(kElfMachineCuda) + " (EM_CUDA)");
  }
  CubinInfo info;
  info.elf_flags = elf.flags();
  info.abi_version = elf.abi_version();
  info.sm = info.abi_version >= kCudaAbiVersionSmInSecondByte ? (info.elf_flags >> 8) & 0xff
                                                              : info.elf_flags & 0xff;
  for (const ElfSection& section : elf.sections()) {
    if (section.type != kSectionSymtab) continue;
    for (const ElfSymbol& sym : elf.symbols(section)) {
      if (sym.type == kSymbolFunc && (sym.other & kSymbolCudaEntry) != 0 && sym.section != 0) {
        info.kernels.push_back(kernel_name(sym.name));
      }
    }
  }
  info.toolkit = cubin_toolkit(elf);
  std::sort(info.kernels.begin(), info.kernels.end(),
            [](const KernelName& a, const KernelName& b) { return a.mangled < b.mangled; });
  info.kernels.erase(
      std::unique(info.kernels.begin(), info.kernels.end(),
                  [](const KernelName& a, const KernelName& b) { return a.mangled == b.mangled; }),
      info.kernels.end());
  return info;
}

PtxInfo parse_ptx(std::string_view text) {
  PtxWords words(text.substr(0, text.find('\0')));
  PtxInfo info;
  while (const std::optional<std::string_view> word = words.next()) {
    if (*word != ".version" && *word != ".target" && *word != ".entry") continue;
    const std::optional<std::string_view> operand = words.next();
    if (!operand) throw FormatError("PTX ends after " + std::string(*word));
    if (*word == ".version" && info.isa_version.empty()) {
      info.isa_version = std::string(*operand);
    } else if (*word == ".target" && info.target.empty()) {
      info.target = std::string(*operand);
    } else if (*word == ".entry") {
      info.entries.push_back(kernel_name(*operand));
    }
  }
  if (info.isa_version.empty()) throw FormatError("PTX has no .version directive");
  return info;
}

}  // namespace lenet::introspect
