// EpochReport <-> nlohmann::json, for the engine's own files (the public header speaks strings,
// so that users of lenet::engine need no JSON library).
#pragma once

#include <nlohmann/json.hpp>

#include <lenet/engine/epoch_report.h>

namespace lenet::engine::detail {

nlohmann::json epoch_json(const EpochReport& report);
// Throws nlohmann::json::exception for a missing field or one of the wrong type.
EpochReport epoch_from_json(const nlohmann::json& object);

}  // namespace lenet::engine::detail
