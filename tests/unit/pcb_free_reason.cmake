# Why the PCB probe says each PCB was freed, checked against lwIP's own code path (patch 0004):
# device child processes, scripted TCP peer on the simulated Ethernet.
add_executable(pcb_free_reason_test ${CMAKE_CURRENT_LIST_DIR}/pcb_free_reason_test.cpp)
target_link_libraries(pcb_free_reason_test PRIVATE lwipsim_runner_esp_idf_v4_4 GTest::gtest_main)
target_include_directories(pcb_free_reason_test PRIVATE ${CMAKE_SOURCE_DIR})
lwipsim_warnings(pcb_free_reason_test)
gtest_discover_tests(pcb_free_reason_test PROPERTIES LABELS unit)
