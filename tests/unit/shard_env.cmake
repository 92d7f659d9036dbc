# `--shard auto` (harness/cli/shard_env): each job engine's task numbering turned into K/N, by
# the engines' documented rules, with fake environments.
add_executable(shard_env_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/shard_env_test.cpp
    ${PROJECT_SOURCE_DIR}/harness/cli/shard_env.cpp)
target_include_directories(shard_env_unit_tests PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(shard_env_unit_tests PRIVATE GTest::gtest_main)
lwipsim_warnings(shard_env_unit_tests)
gtest_discover_tests(shard_env_unit_tests PROPERTIES LABELS unit)
