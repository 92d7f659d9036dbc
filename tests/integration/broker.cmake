# Integration tests of harness/broker: real mosquitto, mosquitto clients and openssl on 127.0.0.1.
add_executable(lwipsim_broker_test_helper ${CMAKE_CURRENT_LIST_DIR}/broker_test_helper.cpp)
target_link_libraries(lwipsim_broker_test_helper PRIVATE lwipsim_broker)
lwipsim_warnings(lwipsim_broker_test_helper)

add_executable(lwipsim_broker_integration_tests
    ${CMAKE_CURRENT_LIST_DIR}/broker_external_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/broker_managed_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/broker_pki_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/broker_pki_cache_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/broker_test_support.cpp)
target_link_libraries(lwipsim_broker_integration_tests PRIVATE lwipsim_broker GTest::gtest_main)
target_compile_definitions(lwipsim_broker_integration_tests PRIVATE
    LWIPSIM_BROKER_TEST_HELPER="$<TARGET_FILE:lwipsim_broker_test_helper>")
add_dependencies(lwipsim_broker_integration_tests lwipsim_broker_test_helper)
lwipsim_warnings(lwipsim_broker_integration_tests)
gtest_discover_tests(lwipsim_broker_integration_tests
    PROPERTIES LABELS integration
    DISCOVERY_TIMEOUT 30)
