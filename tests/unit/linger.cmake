# SO_LINGER semantics of lwIP 2.1.3 sockets (device child processes, scripted peer on the
# simulated Ethernet), and the field case's lingering-close socket leak reduced to a test.
add_executable(linger_test ${CMAKE_CURRENT_LIST_DIR}/linger_test.cpp)
target_link_libraries(linger_test PRIVATE lwipsim_device_esp_idf_v4_4 lwipsim_link GTest::gtest_main)
target_include_directories(linger_test PRIVATE ${CMAKE_SOURCE_DIR})
lwipsim_warnings(linger_test)
gtest_discover_tests(linger_test PROPERTIES LABELS unit)
