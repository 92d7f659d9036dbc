#include "harness/scenario/scenario_error.h"

namespace lwipsim::scenario {
namespace {

std::string format(const std::string& file, int line, int column, const std::string& message,
                   const std::string& set_override) {
    if (!set_override.empty()) {
        // Quoted as a shell would need it, so the text can be copied back into a command.
        std::string quoted = "'";
        for (char c : set_override)
            quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        quoted = "--set " + quoted + "'";
        if (line > 0) // a file node made wrong by this --set
            return quoted + ": conflicts with " + file + ":" + std::to_string(line) + ":" +
                   std::to_string(column) + ": " + message;
        if (column > 0)
            return quoted + ": column " + std::to_string(column) + ": " + message;
        return quoted + ": " + message;
    }
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
