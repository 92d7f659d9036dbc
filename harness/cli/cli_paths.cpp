// The paths a user names on the command line: checks that say why one cannot be used.
#include "harness/cli/cli_common.h"
#include "harness/cli/commands.h"
#include "harness/scenario/path_access.h"

#include <filesystem>

namespace lwipsim::cli {

CLI::Validator readable_file() {
    return CLI::Validator(
        [](std::string& path) {
            auto why = scenario::unreadable_file(path);
            return why ? path + ": " + *why : std::string();
        },
        "FILE");
}

CLI::Validator readable_folder() {
    return CLI::Validator(
        [](std::string& path) {
            auto why = scenario::unreadable_folder(path);
            return why ? path + ": " + *why : std::string();
        },
        "DIR");
}

void prepare_out_folder(const std::string& out) {
    if (auto why = scenario::unwritable_folder(out))
        throw UsageError("--out " + out + ": " + *why);
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec)
        throw UsageError("--out " + out + ": " + scenario::errno_reason(ec.value()));
}

} // namespace lwipsim::cli
