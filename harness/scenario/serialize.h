#pragma once
// Writing a resolved Scenario back out.
//  - to_json: for the results folder. Numbers in SI units: durations in seconds (double),
//    sizes in bytes, rates in bit/s, probabilities 0..1; keys follow the YAML layout, plus
//    "name", "variant" and "set_overrides" saying how it was resolved.
//  - to_yaml: canonical scenario YAML (exact units) that load_scenario_text() reads back to
//    an equal Scenario (apart from how-resolved fields). Used by the round-trip test and for
//    "show me the resolved scenario".

#include "harness/scenario/scenario.h"

#include <nlohmann/json.hpp>

#include <string>

namespace lwipsim::scenario {

nlohmann::json to_json(const Scenario& s);
std::string to_yaml(const Scenario& s);

} // namespace lwipsim::scenario
