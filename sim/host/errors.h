#pragma once

#include <stdexcept>
#include <string>

namespace lwipsim::host {

// The machine lacks something a run needs: a program is not installed or may not be executed,
// or a privilege or device is missing (root, /dev/net/tun). The CLI maps it to exit code 3.
// broker::EnvironmentError, link::EnvironmentError and report::EnvironmentError are aliases of
// this type, so one catch covers every room.
class EnvironmentError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Starting, waiting for or stopping a host program failed for a reason other than the
// environment (fork, pipe or waitid failed, a working directory or output file could not be
// opened, a child survived SIGKILL, a pid that is not a child). The message names the command.
class ProcessError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

} // namespace lwipsim::host
