# Scenario language: units, loader errors (tests/data/bad_scenarios), overrides, round trip,
# and every scenarios/*.yaml in the repo.
if(TARGET lwipsim_scenario)
    add_executable(scenario_unit_tests
        ${CMAKE_CURRENT_LIST_DIR}/scenario_units_test.cpp
        ${CMAKE_CURRENT_LIST_DIR}/scenario_loader_test.cpp
        ${CMAKE_CURRENT_LIST_DIR}/scenario_bad_files_test.cpp)
    target_link_libraries(scenario_unit_tests PRIVATE lwipsim_scenario GTest::gtest_main)
    target_compile_definitions(scenario_unit_tests PRIVATE
        LWIPSIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    lwipsim_warnings(scenario_unit_tests)
    gtest_discover_tests(scenario_unit_tests PROPERTIES LABELS unit)
endif()
