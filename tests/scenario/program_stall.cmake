# A device program that busy-loops (docs/programs.md, "busy loop"): the stall watchdog ends the
# run with a clear reason instead of a CLI that never returns.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
lwipsim_add_device_program(test_busy_loop SOURCES ${CMAKE_SOURCE_DIR}/tests/data/programs/busy_loop.c)
add_test(NAME scenario.program_stall
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/program_stall_check.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/program_short.yaml
                 $<TARGET_FILE:test_busy_loop>)
set_tests_properties(scenario.program_stall PROPERTIES LABELS scenario TIMEOUT 400)
