// libFuzzer target for the scenario loader. Any input must either load or throw
// ScenarioError; a loaded scenario must survive variant resolution and round-trip through
// to_yaml() to an equal Scenario. Seeds: scenarios/*.yaml.
#include "harness/scenario/loader.h"
#include "harness/scenario/scenario_error.h"
#include "harness/scenario/serialize.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace lwipsim::scenario;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::filesystem::path file = "/nonexistent-fuzz/fuzz.yaml";
    Scenario s;
    try {
        s = load_scenario_text(text, file);
    } catch (const ScenarioError&) {
        return 0;
    }
    for (const std::string& v : variant_names(s))
        (void)resolve_variant(s, v);
    (void)to_json(s).dump();
    std::string canonical = to_yaml(s);
    Scenario back;
    try {
        back = load_scenario_text(canonical, file);
    } catch (const ScenarioError& e) {
        std::fprintf(stderr, "canonical YAML does not load: %s\n%s\n", e.what(), canonical.c_str());
        std::abort();
    }
    back.source_text = s.source_text;
    if (!(back == s)) {
        std::fprintf(stderr, "round trip changed the scenario:\n%s\n", canonical.c_str());
        std::abort();
    }
    return 0;
}
