# Issue 15: `cmake --install` into a scratch prefix, examples/tls_ping built out of tree against
# the installed package (find_package(lwipsim)), and run by the installed `lwipsim`.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
add_test(NAME integration.program_out_of_tree
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/program_install.py
                 ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}/examples/tls_ping
                 ${CMAKE_SOURCE_DIR}/tests/data/scenarios/program_short.yaml)
set_tests_properties(integration.program_out_of_tree PROPERTIES LABELS integration TIMEOUT 600)
