# Device programs (issue 15, docs/programs.md): the example tls_ping and programs that misbehave
# on purpose, run with `lwipsim run` (tests/scenario/program_check.py).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
lwipsim_add_device_program(test_misbehave SOURCES ${CMAKE_SOURCE_DIR}/tests/data/programs/misbehave.cpp)
lwipsim_add_device_program(test_freertos_checks
    SOURCES ${CMAKE_SOURCE_DIR}/tests/data/programs/freertos_checks.c)
lwipsim_add_device_program(test_missing_symbol
    SOURCES ${CMAKE_SOURCE_DIR}/tests/data/programs/missing_symbol.c)
add_test(NAME scenario.device_program
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/program_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/program_tls_ping.yaml
                 ${CMAKE_SOURCE_DIR}/tests/data/scenarios/program_short.yaml
                 $<TARGET_FILE:tls_ping> $<TARGET_FILE:test_misbehave>
                 $<TARGET_FILE:test_missing_symbol> $<TARGET_FILE:test_freertos_checks>)
set_tests_properties(scenario.device_program PROPERTIES LABELS scenario TIMEOUT 300)

# examples/https_get: OTA downloads from the harness's HTTPS server through loss and an outage.
add_test(NAME scenario.https_get
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/https_get_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/https_get.yaml
                 $<TARGET_FILE:https_get>)
set_tests_properties(scenario.https_get PROPERTIES LABELS scenario TIMEOUT 600)

# A fault triggered by the program's own lwipsim_event (trigger event program_event).
add_test(NAME scenario.program_event_trigger
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/program_trigger_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/program_event_trigger.yaml
                 $<TARGET_FILE:tls_ping>)
set_tests_properties(scenario.program_event_trigger PROPERTIES LABELS scenario TIMEOUT 300)

# examples/mqtt_reference: the built-in client as a program gives the built-in's results on the
# field case (same seed; connects, handshake failures, pcbs.csv, heap all equal).
add_test(NAME scenario.mqtt_reference
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/mqtt_reference_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/scenarios/field_case.yaml
                 ${CMAKE_SOURCE_DIR}/examples/mqtt_reference/field_case.yaml
                 $<TARGET_FILE:mqtt_reference>)
set_tests_properties(scenario.mqtt_reference PROPERTIES LABELS scenario TIMEOUT 300)
