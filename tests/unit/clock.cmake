add_executable(clock_test ${CMAKE_CURRENT_LIST_DIR}/clock_test.cpp)
target_link_libraries(clock_test PRIVATE lwipsim_clock GTest::gtest_main)
lwipsim_warnings(clock_test)
gtest_discover_tests(clock_test PROPERTIES LABELS unit)
