#pragma once
// Why a path the user named cannot be used, in words a user can act on. std::filesystem's
// status() reports "not found" for a file behind a folder the process may not enter, which
// sent newcomers looking for a file that was there (issue 11); these ask the kernel instead.

#include <filesystem>
#include <optional>
#include <string>

namespace lwipsim::scenario {

/// std::nullopt when `path` opens for reading as a regular file; otherwise the reason:
/// "permission denied", "does not exist", "is a folder, not a file", or the system's words.
std::optional<std::string> unreadable_file(const std::filesystem::path& path);

/// std::nullopt when `path` is a folder this process can list; otherwise the reason.
std::optional<std::string> unreadable_folder(const std::filesystem::path& path);

/// std::nullopt when `path` is (or could be created as) a folder this process can create
/// files in; otherwise the reason, e.g. "permission denied (cannot create /a/b)".
std::optional<std::string> unwritable_folder(const std::filesystem::path& path);

/// The words for an errno value: EACCES/EPERM "permission denied", ENOENT "does not exist".
std::string errno_reason(int err);

} // namespace lwipsim::scenario
