#include "harness/scenario/scenario_error.h"

namespace lwipsim::scenario {
namespace {

std::string format(const std::string& file, int line, int column, const std::string& message,
                   const std::string& set_override) {
    if (!set_override.empty())
        return "--set " + set_override + ": " + message;
    std::string out = file;
    if (line > 0)
        out += ":" + std::to_string(line) + ":" + std::to_string(column);
    return out + ": error: " + message;
}

} // namespace

ScenarioError::ScenarioError(std::string file, int line, int column, std::string message,
                             std::string set_override)
    : std::runtime_error(format(file, line, column, message, set_override)), file_(std::move(file)),
      line_(line), column_(column), message_(std::move(message)),
      set_override_(std::move(set_override)) {}

} // namespace lwipsim::scenario
