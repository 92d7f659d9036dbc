# The slirp gateway (label integration: real sockets on 127.0.0.1) and the TAP backend (label
# tap: needs root and /dev/net/tun; skips itself with the reason otherwise).
if(TARGET lwipsim_slirp)
    add_executable(slirp_gateway_test ${CMAKE_CURRENT_LIST_DIR}/slirp_gateway_test.cpp)
    target_link_libraries(slirp_gateway_test PRIVATE lwipsim_slirp GTest::gtest_main)
    lwipsim_warnings(slirp_gateway_test)
    gtest_discover_tests(slirp_gateway_test PROPERTIES LABELS integration)
endif()
if(TARGET lwipsim_tap AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/tap_backend_test.cpp)
    add_executable(tap_backend_test ${CMAKE_CURRENT_LIST_DIR}/tap_backend_test.cpp)
    target_link_libraries(tap_backend_test PRIVATE lwipsim_tap GTest::gtest_main)
    lwipsim_warnings(tap_backend_test)
    gtest_discover_tests(tap_backend_test PROPERTIES LABELS tap)
endif()
