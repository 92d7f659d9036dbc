find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME scenario.event_trigger
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/triggers_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/trigger_app_close.yaml)
set_tests_properties(scenario.event_trigger PROPERTIES LABELS scenario TIMEOUT 120)

add_test(NAME scenario.tcp_keepalive
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/keepalive_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/tcp_keepalive.yaml)
set_tests_properties(scenario.tcp_keepalive PROPERTIES LABELS scenario TIMEOUT 120)

add_test(NAME scenario.realtime_mode
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/realtime_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/tcp_keepalive.yaml)
set_tests_properties(scenario.realtime_mode PROPERTIES LABELS scenario TIMEOUT 120)

# The managed broker on virtual time (issue 13): keepalive expiry read from broker.log.
add_test(NAME scenario.broker_keepalive_expiry
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/broker_keepalive_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/broker_keepalive_expiry.yaml)
set_tests_properties(scenario.broker_keepalive_expiry PROPERTIES LABELS scenario TIMEOUT 120)
