find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME cli.sigkill_leaves_no_broker
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/cli_sigkill.py
                 $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/tcp_keepalive.yaml)
set_tests_properties(cli.sigkill_leaves_no_broker PROPERTIES LABELS integration TIMEOUT 120)
