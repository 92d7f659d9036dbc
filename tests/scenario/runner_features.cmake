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

# Issue 12: faults, time and the MQTT client as a firmware engineer meets them.
foreach(check reset:reset_instant run_end:run_end_cut write_timeout:write_timeout)
    string(REPLACE ":" ";" parts ${check})
    list(GET parts 0 name)
    list(GET parts 1 data)
    add_test(NAME scenario.${name}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/${name}_check.py
                     $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/${data}.yaml)
    set_tests_properties(scenario.${name} PROPERTIES LABELS scenario TIMEOUT 120)
endforeach()

add_test(NAME scenario.broker_unreachable
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/broker_unreachable_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/e2e_basic.yaml)
set_tests_properties(scenario.broker_unreachable PROPERTIES LABELS scenario TIMEOUT 120)

# Same seed twice under loss with QoS 1: with the broker on virtual time the runs are identical;
# on the wall clock, what must repeat, and the warning when it need not.
foreach(clock virtual wall)
    add_test(NAME scenario.determinism_lossy_qos1_${clock}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/determinism_lossy.py
                     $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/lossy_qos1.yaml
                     ${clock})
    set_tests_properties(scenario.determinism_lossy_qos1_${clock}
                         PROPERTIES LABELS scenario TIMEOUT 300)
endforeach()

add_test(NAME scenario.client_buffers
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/client_buffers_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/tcp_keepalive.yaml)
set_tests_properties(scenario.client_buffers PROPERTIES LABELS scenario TIMEOUT 120)

# The managed broker on virtual time (issue 13): keepalive expiry read from broker.log.
add_test(NAME scenario.broker_keepalive_expiry
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/broker_keepalive_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/broker_keepalive_expiry.yaml)
set_tests_properties(scenario.broker_keepalive_expiry PROPERTIES LABELS scenario TIMEOUT 120)

# esp-mqtt's outbox on the device heap (issue 12): QoS 1 messages held until PUBACK or expiry.
add_test(NAME scenario.outbox_heap
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/outbox_heap_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/outbox_heap.yaml)
set_tests_properties(scenario.outbox_heap PROPERTIES LABELS scenario TIMEOUT 120)
