# app.actions in the scenario language (issue 15); the session side is in mqtt_session_test.cpp.
if(TARGET lwipsim_scenario)
    add_executable(app_actions_unit_tests ${CMAKE_CURRENT_LIST_DIR}/app_actions_test.cpp)
    target_link_libraries(app_actions_unit_tests PRIVATE lwipsim_scenario GTest::gtest_main)
    lwipsim_warnings(app_actions_unit_tests)
    gtest_discover_tests(app_actions_unit_tests PROPERTIES LABELS unit)
endif()
