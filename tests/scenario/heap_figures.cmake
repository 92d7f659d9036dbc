# docs/fidelity.md's heap figures by ABI and allocator (issue 16): the device program
# heap_figures measures them under abi host and ilp32, allocator none and esp-idf-v4.4;
# heap_figures_check.py checks them against lwIP's structure sizes for each ABI
# (lwip_struct_sizes, closed_pcb_heap.cmake, and its -m32 twin here) and the block-cost arithmetic.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
lwipsim_add_device_program(test_heap_figures
    SOURCES ${CMAKE_SOURCE_DIR}/tests/data/programs/heap_figures.c)
if(LWIPSIM_ILP32)
    # The same sizes as the 32-bit worker sees them: flags as cmake/toolchain-i386.cmake's.
    add_executable(lwip_struct_sizes_ilp32 ${CMAKE_CURRENT_LIST_DIR}/lwip_struct_sizes.c)
    target_include_directories(lwip_struct_sizes_ilp32 PRIVATE
        $<TARGET_PROPERTY:lwip_objs_esp_idf_v4_4,INTERFACE_INCLUDE_DIRECTORIES>)
    target_compile_definitions(lwip_struct_sizes_ilp32 PRIVATE
        $<TARGET_PROPERTY:lwip_objs_esp_idf_v4_4,INTERFACE_COMPILE_DEFINITIONS>)
    target_compile_options(lwip_struct_sizes_ilp32 PRIVATE -m32 -msse2 -mfpmath=sse)
    target_link_options(lwip_struct_sizes_ilp32 PRIVATE -m32)
    set(heap_figures_out ${CMAKE_BINARY_DIR}/scenario-results/heap_figures)
    add_test(NAME scenario.heap_figures
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/heap_figures_check.py
                     $<TARGET_FILE:lwipsim> ${CMAKE_SOURCE_DIR}/tests/data/scenarios/heap_figures.yaml
                     $<TARGET_FILE:test_heap_figures> ${heap_figures_out}
                     $<TARGET_FILE:lwip_struct_sizes> $<TARGET_FILE:lwip_struct_sizes_ilp32>)
    set_tests_properties(scenario.heap_figures PROPERTIES LABELS scenario TIMEOUT 600)
endif()
