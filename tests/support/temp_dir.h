#pragma once
// A fresh directory for one test under $TMPDIR (or /tmp), removed with its contents by the
// destructor, so a failing assertion half-way still leaves nothing behind.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace lwipsim::testing {

class TempDir {
  public:
    // `tag` names the directory (lwipsim-<tag>-XXXXXX), to tell whose it is when one is left over.
    explicit TempDir(const std::string& tag = "test") {
        const char* base = std::getenv("TMPDIR");
        std::string pattern =
            std::string(base != nullptr ? base : "/tmp") + "/lwipsim-" + tag + "-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed for " << pattern;
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

} // namespace lwipsim::testing
