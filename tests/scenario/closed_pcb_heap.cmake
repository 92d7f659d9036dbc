# timeseries.csv's closed_pcb_heap columns against pcbs.csv and lwIP's own struct sizes: the
# field case without linger leaves closed PCBs in FIN_WAIT_1 holding heap (docs/results.md).
add_executable(lwip_struct_sizes ${CMAKE_CURRENT_LIST_DIR}/lwip_struct_sizes.c)
# Headers and profile only: sizeof needs no lwIP code.
target_include_directories(lwip_struct_sizes PRIVATE
    $<TARGET_PROPERTY:lwip_objs_esp_idf_v4_4,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(lwip_struct_sizes PRIVATE
    $<TARGET_PROPERTY:lwip_objs_esp_idf_v4_4,INTERFACE_COMPILE_DEFINITIONS>)
set(closed_pcb_heap_out ${CMAKE_BINARY_DIR}/scenario-results/closed_pcb_heap)
add_test(NAME scenario.closed_pcb_heap
         COMMAND bash -c "'$<TARGET_FILE:lwipsim>' run '${CMAKE_SOURCE_DIR}/scenarios/field_case.yaml' --variant linger_off --out '${closed_pcb_heap_out}' --no-plots --force && python3 '${CMAKE_CURRENT_LIST_DIR}/closed_pcb_heap_check.py' '${closed_pcb_heap_out}/linger_off' '$<TARGET_FILE:lwip_struct_sizes>'")
set_tests_properties(scenario.closed_pcb_heap PROPERTIES LABELS scenario TIMEOUT 300)
