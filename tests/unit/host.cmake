# The host room (sim/host): running real programs (sh, sleep, pwd from coreutils), no sockets;
# claiming a CPU per worker.
add_executable(host_test ${CMAKE_CURRENT_LIST_DIR}/host_process_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/host_cpu_claim_test.cpp)
target_link_libraries(host_test PRIVATE lwipsim_host GTest::gtest_main)
lwipsim_warnings(host_test)
gtest_discover_tests(host_test PROPERTIES LABELS unit)
