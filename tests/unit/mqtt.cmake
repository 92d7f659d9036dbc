# MQTT codec and session unit tests: no sockets, fake transport and fake clock.
if(TARGET lwipsim_mqtt)
    add_executable(mqtt_unit_tests
        ${CMAKE_CURRENT_LIST_DIR}/mqtt_codec_test.cpp
        ${CMAKE_CURRENT_LIST_DIR}/mqtt_decoder_random_test.cpp
        ${CMAKE_CURRENT_LIST_DIR}/mqtt_session_test.cpp)
    target_link_libraries(mqtt_unit_tests PRIVATE lwipsim_mqtt GTest::gtest_main)
    lwipsim_warnings(mqtt_unit_tests)
    gtest_discover_tests(mqtt_unit_tests PROPERTIES LABELS unit)
endif()
