# Broker faults on the run's clock (issue 13): broker_stop, broker_restart, broker_pause on the
# managed mosquitto, checked against slirp's, lwIP's and MQTT's rules (tshark on device.pcap,
# events.jsonl, pcbs.csv). Python standard library only; uses tests/integration/e2e_common.py.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME scenario.broker_stop_field_case
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/broker_stop_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/scenarios/field_case_broker_stop.yaml)
set_tests_properties(scenario.broker_stop_field_case PROPERTIES LABELS scenario TIMEOUT 300)

foreach(variant base persistent crash_persistent triggered)
    add_test(NAME scenario.broker_restart_${variant}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/broker_restart_check.py
                     $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/broker_restart.yaml
                     ${variant})
    set_tests_properties(scenario.broker_restart_${variant} PROPERTIES LABELS scenario TIMEOUT 300)
endforeach()

add_test(NAME scenario.broker_pause
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/broker_pause_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/broker_pause.yaml)
set_tests_properties(scenario.broker_pause PROPERTIES LABELS scenario TIMEOUT 300)
