# The device heap's per-block cost (sim/heap/block_cost.h): expected charges worked out by hand
# from ESP-IDF v4.4's heap source (docs/fidelity.md). No lwIP, no sockets.
add_executable(heap_unit_tests ${CMAKE_CURRENT_LIST_DIR}/heap_block_cost_test.cpp)
target_link_libraries(heap_unit_tests PRIVATE lwipsim_heap GTest::gtest_main)
lwipsim_warnings(heap_unit_tests)
gtest_discover_tests(heap_unit_tests PROPERTIES LABELS unit)
