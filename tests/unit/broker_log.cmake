# The managed broker's log read as events (harness/broker/broker_log.h): mosquitto 2.0.11's
# connection messages, and following a file as it grows. No broker, no sockets.
add_executable(broker_log_test ${CMAKE_CURRENT_LIST_DIR}/broker_log_test.cpp)
target_link_libraries(broker_log_test PRIVATE lwipsim_broker GTest::gtest_main)
target_include_directories(broker_log_test PRIVATE ${PROJECT_SOURCE_DIR})
lwipsim_warnings(broker_log_test)
gtest_discover_tests(broker_log_test PROPERTIES LABELS unit)
