#pragma once
// The one error type of the scenario loader. It carries where the problem is, so the CLI can
// print `file.yaml:12:5: error: ...` and exit with code 2. For command-line overrides:
// `--set 'app.x=1': column 7: ...` (the column within the --set text), or
// `--set 'faults.f.type=reset': conflicts with file.yaml:27:12: ...` when the override made a
// node of the file wrong.

#include <stdexcept>
#include <string>

namespace lwipsim::scenario {

class ScenarioError : public std::runtime_error {
  public:
    /// line/column are 1-based; 0 means unknown (e.g. the file could not be read).
    /// `set_override` is the --set text the error came from, empty for file errors; then
    /// line 0 and column = the column within that text, or line > 0: the file position the
    /// override conflicts with.
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
