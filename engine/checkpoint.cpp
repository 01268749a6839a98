#include <lenet/engine/checkpoint.h>

#include <cstdlib>
#include <exception>
#include <limits>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <lenet/engine/safetensors.h>

#include "epoch_report_json.h"

namespace lenet::engine {

namespace {

// Version 2 adds the run's length, the position within an epoch and the completed epochs'
// figures; a version-1 file (saved only at an epoch's end) still loads.
constexpr const char* kFormat = "lenet-cuda checkpoint 2";
constexpr const char* kFormatV1 = "lenet-cuda checkpoint 1";
constexpr const char* kMomentumPrefix = "momentum.";

std::string number(double v) {
  std::ostringstream out;
  out.precision(std::numeric_limits<double>::max_digits10);
  out << v;
  return out.str();
}

const std::string& meta(const SafetensorsFile& file, const std::string& path,
                        const std::string& key) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) {
    throw CheckpointError(path + ": not a lenet checkpoint: metadata '" + key + "' is missing");
  }
  return it->second;
}

template <typename T>
T parse(const SafetensorsFile& file, const std::string& path, const std::string& key) {
  const std::string& text = meta(file, path, key);
  std::istringstream in(text);
  T value{};
  in >> value;
  // istream reads "-1" into an unsigned type as its largest value; refuse the sign instead.
  const bool negative_unsigned = std::is_unsigned_v<T> && text.find('-') != std::string::npos;
  if (in.fail() || !in.eof() || negative_unsigned) {
    throw CheckpointError(path + ": metadata '" + key + "' is not a number: '" + text + "'");
  }
  return value;
}

// The completed epochs as a JSON array of their metrics records, in one metadata string.
std::string history_text(const std::vector<EpochReport>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (EpochReport e : history) {
    e.from_checkpoint = false;  // said by the reader, not stored
    out.push_back(detail::epoch_json(e));
  }
  return out.dump();
}

std::vector<EpochReport> parse_history(const std::string& path, const std::string& text) {
  std::vector<EpochReport> history;
  try {
    for (const nlohmann::json& e : nlohmann::json::parse(text)) {
      EpochReport r = detail::epoch_from_json(e);
      r.from_checkpoint = true;
      history.push_back(r);
    }
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(path + ": metadata 'history' is not the list of epochs: " + e.what());
  }
  return history;
}

void read_tensors(const SafetensorsFile& file, const std::string& path, const std::string& prefix,
                  HostParams* out) {
  for (auto& t : out->tensors) {
    const std::string name = prefix + t.name;
    const NamedTensor* found = file.find(name);
    if (found == nullptr) throw CheckpointError(path + ": tensor '" + name + "' is missing");
    if (found->shape != t.shape) {
      std::ostringstream msg;
      msg << path << ": tensor '" << name << "' has shape [";
      for (std::size_t i = 0; i < found->shape.size(); ++i) msg << (i ? ", " : "") << found->shape[i];
      msg << "], the classic LeNet's is [";
      for (std::size_t i = 0; i < t.shape.size(); ++i) msg << (i ? ", " : "") << t.shape[i];
      msg << "]";
      throw CheckpointError(msg.str());
    }
    t.data = found->data;
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& state) {
  SafetensorsFile file;
  for (const auto& t : state.params.tensors) file.tensors.push_back({t.name, t.shape, t.data});
  for (const auto& t : state.momentum.tensors) {
    file.tensors.push_back({kMomentumPrefix + t.name, t.shape, t.data});
  }
  file.metadata = {
      {"format", kFormat},
      {"epochs_done", std::to_string(state.epochs_done)},
      {"step", std::to_string(state.step)},
      {"seed", std::to_string(state.seed)},
      {"rng", state.rng},
      {"epochs", std::to_string(state.epochs)},
      {"batch_size", std::to_string(state.batch_size)},
      {"limit_train", std::to_string(state.limit_train)},
      {"lr", number(state.sgd.lr)},
      {"momentum", number(state.sgd.momentum)},
      {"weight_decay", number(state.sgd.weight_decay)},
      {"batches_done", std::to_string(state.batches_done)},
      {"epoch_loss_sum", number(state.epoch_loss_sum)},
      {"epoch_correct", std::to_string(state.epoch_correct)},
      {"epoch_seconds", number(state.epoch_seconds)},
      {"history", history_text(state.history)},
  };
  save_safetensors(path, file);
}

TrainingState load_checkpoint(const std::string& path) {
  const SafetensorsFile file = load_safetensors(path);
  const std::string& format = meta(file, path, "format");
  if (format != kFormat && format != kFormatV1) {
    throw CheckpointError(path + ": not a lenet checkpoint: format is '" + format +
                          "', expected '" + kFormat + "'");
  }
  TrainingState state;
  read_tensors(file, path, "", &state.params);
  read_tensors(file, path, kMomentumPrefix, &state.momentum);
  state.epochs_done = parse<std::int64_t>(file, path, "epochs_done");
  state.step = parse<std::int64_t>(file, path, "step");
  state.seed = parse<std::uint64_t>(file, path, "seed");
  state.rng = meta(file, path, "rng");
  state.batch_size = parse<std::int64_t>(file, path, "batch_size");
  state.limit_train = parse<std::int64_t>(file, path, "limit_train");
  state.sgd.lr = parse<double>(file, path, "lr");
  state.sgd.momentum = parse<double>(file, path, "momentum");
  state.sgd.weight_decay = parse<double>(file, path, "weight_decay");
  if (format != kFormatV1) {
    state.epochs = parse<std::int64_t>(file, path, "epochs");
    state.batches_done = parse<std::int64_t>(file, path, "batches_done");
    state.epoch_loss_sum = parse<double>(file, path, "epoch_loss_sum");
    state.epoch_correct = parse<std::int64_t>(file, path, "epoch_correct");
    state.epoch_seconds = parse<double>(file, path, "epoch_seconds");
    state.history = parse_history(path, meta(file, path, "history"));
  }
  if (state.epochs_done < 0 || state.step < 0 || state.batch_size < 1 || state.epochs < 0 ||
      state.batches_done < 0 || state.epoch_correct < 0 || state.limit_train < 1) {
    throw CheckpointError(path + ": training state out of range (epochs_done " +
                          std::to_string(state.epochs_done) + ", step " +
                          std::to_string(state.step) + ", epochs " +
                          std::to_string(state.epochs) + ", batch_size " +
                          std::to_string(state.batch_size) + ", batches_done " +
                          std::to_string(state.batches_done) + ")");
  }
  return state;
}

}  // namespace lenet::engine
