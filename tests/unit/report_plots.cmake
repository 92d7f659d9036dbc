# Plot layout, decimation and the handshake need (harness/report): synthetic data, real gnuplot.
if(TARGET lwipsim_report)
    add_executable(report_plots_test ${CMAKE_CURRENT_LIST_DIR}/report_plots_test.cpp)
    target_link_libraries(report_plots_test PRIVATE lwipsim_report GTest::gtest_main)
    lwipsim_warnings(report_plots_test)
    gtest_discover_tests(report_plots_test PROPERTIES LABELS unit)
endif()
