// Each file in tests/data/bad_scenarios/ states its own expected error on line 1:
//   # expect: LINE:COL message-substring     (position counted by hand in that file)
//   # expect: set message-substring          (the error comes from a --set override)
// and optionally, on line 2, `# set: key.path=value` for the override to apply.
#include "harness/scenario/loader.h"
#include "harness/scenario/scenario_error.h"

#include <gtest/gtest.h>

#include <fstream>

namespace fs = std::filesystem;
using namespace lwipsim::scenario;

namespace {

struct BadFile {
    fs::path path;
    std::string first_line;
    std::string second_line;
};

std::vector<BadFile> bad_files() {
    std::vector<BadFile> out;
    for (const auto& e :
         fs::directory_iterator(fs::path(LWIPSIM_SOURCE_DIR) / "tests/data/bad_scenarios")) {
        if (e.path().extension() != ".yaml")
            continue;
        std::ifstream in(e.path());
        BadFile b{e.path(), {}, {}};
        std::getline(in, b.first_line);
        std::getline(in, b.second_line);
        out.push_back(b);
    }
    std::sort(out.begin(), out.end(),
              [](const BadFile& a, const BadFile& b) { return a.path < b.path; });
    return out;
}

} // namespace

TEST(ScenarioBadFiles, EachFailsWithItsStatedPositionAndMessage) {
    auto files = bad_files();
    ASSERT_GE(files.size(), 15u);
    for (const BadFile& b : files) {
        SCOPED_TRACE(b.path.filename().string());
        const std::string prefix = "# expect: ";
        ASSERT_EQ(b.first_line.rfind(prefix, 0), 0u) << "first line must be '# expect: ...'";
        std::string spec = b.first_line.substr(prefix.size());
        size_t space = spec.find(' ');
        ASSERT_NE(space, std::string::npos);
        std::string where = spec.substr(0, space);
        std::string message = spec.substr(space + 1);
        std::vector<std::string> sets;
        if (b.second_line.rfind("# set: ", 0) == 0)
            sets.push_back(b.second_line.substr(7));
        try {
            load_scenario(b.path, sets);
            ADD_FAILURE() << "loaded without error";
        } catch (const ScenarioError& e) {
            EXPECT_NE(e.message().find(message), std::string::npos)
                << "message: " << e.message() << "\nwanted: " << message;
            if (where == "set") {
                ASSERT_FALSE(sets.empty());
                EXPECT_EQ(e.set_override(), sets[0]);
                EXPECT_EQ(std::string(e.what()).rfind("--set '" + sets[0] + "': ", 0), 0u)
                    << e.what();
            } else {
                size_t colon = where.find(':');
                ASSERT_NE(colon, std::string::npos);
                EXPECT_EQ(e.line(), std::stoi(where.substr(0, colon))) << e.what();
                EXPECT_EQ(e.column(), std::stoi(where.substr(colon + 1))) << e.what();
                EXPECT_EQ(std::string(e.what()),
                          b.path.string() + ":" + where + ": error: " + e.message());
            }
        }
    }
}

TEST(ScenarioBadFiles, MissingFileIsAScenarioError) {
    try {
        load_scenario("/nonexistent/dir/x.yaml");
        FAIL() << "no error";
    } catch (const ScenarioError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "/nonexistent/dir/x.yaml: error: cannot read the scenario file: does not exist");
    }
}
