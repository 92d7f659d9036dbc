# Plots and HTML report (harness/report): synthetic result folders in a temp dir, real gnuplot.
if(TARGET lwipsim_report)
    add_executable(report_test ${CMAKE_CURRENT_LIST_DIR}/report_test.cpp)
    target_link_libraries(report_test PRIVATE lwipsim_report GTest::gtest_main)
    lwipsim_warnings(report_test)
    gtest_discover_tests(report_test PROPERTIES LABELS unit)

    add_executable(metric_diff_test ${CMAKE_CURRENT_LIST_DIR}/metric_diff_test.cpp)
    target_link_libraries(metric_diff_test PRIVATE lwipsim_report GTest::gtest_main)
    lwipsim_warnings(metric_diff_test)
    gtest_discover_tests(metric_diff_test PROPERTIES LABELS unit)

    add_executable(report_browser_test ${CMAKE_CURRENT_LIST_DIR}/report_browser_test.cpp)
    find_package(ZLIB REQUIRED) # screenshots are decoded in the test (tests/support/png_pixels.h)
    target_link_libraries(report_browser_test PRIVATE lwipsim_report GTest::gtest_main ZLIB::ZLIB)
    lwipsim_warnings(report_browser_test)
    # Chromium start-up on a shared 2-core machine can take tens of seconds; the limit only
    # guards against a hung browser, it is not a speed goal.
    gtest_discover_tests(report_browser_test PROPERTIES LABELS unit TIMEOUT 600)
endif()
