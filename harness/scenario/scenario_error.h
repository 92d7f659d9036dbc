#pragma once
// The one error type of the scenario loader. It carries where the problem is, so the CLI can
// print `file.yaml:12:5: error: ...` (or `--set app.x=1: ...` for command-line overrides)
// and exit with code 2.

#include <stdexcept>
#include <string>

namespace lwipsim::scenario {

class ScenarioError : public std::runtime_error {
  public:
    /// line/column are 1-based; 0 means unknown (e.g. the file could not be read).
    /// `set_override` is the --set text the error came from, empty for file errors.
    ScenarioError(std::string file, int line, int column, std::string message,
                  std::string set_override = {});

    [[nodiscard]] const std::string& file() const { return file_; }
    [[nodiscard]] int line() const { return line_; }
    [[nodiscard]] int column() const { return column_; }
    /// The bare message, without position or "error:" prefix.
    [[nodiscard]] const std::string& message() const { return message_; }
    [[nodiscard]] const std::string& set_override() const { return set_override_; }

  private:
    std::string file_;
    int line_;
    int column_;
    std::string message_;
    std::string set_override_;
};

} // namespace lwipsim::scenario
