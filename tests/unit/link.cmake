# Unit tests of the simulated link (sim/link): fake time, no sockets.
add_executable(link_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/link_builder_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/link_faults_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/link_model_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/link_packet_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/link_pcap_test.cpp)
target_link_libraries(link_unit_tests PRIVATE lwipsim_link GTest::gtest_main)
lwipsim_warnings(link_unit_tests)
find_program(LWIPSIM_TSHARK tshark)
target_compile_definitions(link_unit_tests PRIVATE
    LWIPSIM_TSHARK="$<IF:$<BOOL:${LWIPSIM_TSHARK}>,${LWIPSIM_TSHARK},>")
gtest_discover_tests(link_unit_tests PROPERTIES LABELS unit)
