#include <lenet/engine/epoch_report.h>

#include <stdexcept>

#include "epoch_report_json.h"

namespace lenet::engine {

namespace detail {

nlohmann::json epoch_json(const EpochReport& r) {
  nlohmann::json out = {{"type", "epoch"},
                        {"epoch", r.epoch},
                        {"loss", r.loss},
                        {"train_accuracy", r.train_accuracy},
                        {"test_accuracy", r.test_accuracy},
                        {"test_loss", r.test_loss},
                        {"seconds", r.seconds},
                        {"eval_seconds", r.eval_seconds},
                        {"images", r.images}};
  if (r.from_checkpoint) out["from_checkpoint"] = true;
  return out;
}

EpochReport epoch_from_json(const nlohmann::json& e) {
  EpochReport r;
  r.epoch = e.at("epoch").get<std::int64_t>();
  r.loss = e.at("loss").get<double>();
  r.train_accuracy = e.at("train_accuracy").get<double>();
  r.test_accuracy = e.at("test_accuracy").get<double>();
  r.test_loss = e.at("test_loss").get<double>();
  r.seconds = e.at("seconds").get<double>();
  r.eval_seconds = e.at("eval_seconds").get<double>();
  r.images = e.at("images").get<std::int64_t>();
  r.from_checkpoint = e.value("from_checkpoint", false);
  return r;
}

}  // namespace detail

std::string to_json(const EpochReport& report) { return detail::epoch_json(report).dump(); }

EpochReport epoch_report_from_json(const std::string& text) {
  try {
    return detail::epoch_from_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("not an epoch record: ") + e.what());
  }
}

}  // namespace lenet::engine
