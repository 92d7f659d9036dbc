#pragma once

#include <stdexcept>
#include <string>

#include "sim/host/errors.h"

namespace lwipsim::report {

// A result folder cannot be read (missing or malformed file) or a plot/report cannot be
// produced (gnuplot failed, output not writable). The message always names the file involved
// and, for text files, the line; the CLI maps this to exit code 2 (bad input) unless the cause
// is a missing tool, which is an EnvironmentError.
class ReportError : public std::runtime_error {
  public:
    explicit ReportError(const std::string& what) : std::runtime_error(what) {}
};

// A program the report needs (gnuplot) is not installed. The CLI maps this to exit code 3.
// The same type as host::EnvironmentError, which running gnuplot throws.
using EnvironmentError = host::EnvironmentError;

} // namespace lwipsim::report
