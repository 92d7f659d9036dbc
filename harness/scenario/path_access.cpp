#include "harness/scenario/path_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lwipsim::scenario {

namespace fs = std::filesystem;

std::string errno_reason(int err) {
    switch (err) {
    case EACCES:
    case EPERM:
        return "permission denied";
    case ENOENT:
        return "does not exist";
    case ENOTDIR:
        return "a part of the path is not a folder";
    case EISDIR:
        return "is a folder, not a file";
    default:
        return std::strerror(err);
    }
}

std::optional<std::string> unreadable_file(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno_reason(errno);
    struct stat st {};
    int rc = ::fstat(fd, &st);
    int err = errno;
    ::close(fd);
    if (rc != 0)
        return errno_reason(err);
    if (S_ISDIR(st.st_mode))
        return errno_reason(EISDIR);
    if (!S_ISREG(st.st_mode))
        return std::string("is not a regular file");
    return std::nullopt;
}

std::optional<std::string> unreadable_folder(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0)
        return errno == ENOTDIR ? std::string("is not a folder") : errno_reason(errno);
    ::close(fd);
    return std::nullopt;
}

std::optional<std::string> unwritable_folder(const fs::path& path) {
    // The nearest existing ancestor decides: a folder we would create inherits its rights.
    fs::path p = path.empty() ? fs::path(".") : path;
    for (;;) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return p == path ? std::string("is not a folder") : p.string() + " is not a folder";
            if (::access(p.c_str(), W_OK | X_OK) != 0) {
                std::string why = errno_reason(errno);
                return p == path ? why : why + " (cannot create folders in " + p.string() + ")";
            }
            return std::nullopt;
        }
        if (errno != ENOENT)
            return errno_reason(errno) + (p == path ? "" : " (at " + p.string() + ")");
        fs::path parent = p.parent_path();
        if (parent.empty() || parent == p)
            parent = p.is_absolute() ? fs::path("/") : fs::path(".");
        if (parent == p)
            return std::nullopt;
        p = parent;
    }
}

} // namespace lwipsim::scenario
