# liblwipsim_vclock.so with VclockPeer on a real host program (issue 13).
add_executable(lwipsim_vclock_helper ${CMAKE_CURRENT_LIST_DIR}/vclock_helper.c)
# Runs with our LD_PRELOAD library first; a sanitizer runtime would insist on being first.
target_compile_options(lwipsim_vclock_helper PRIVATE -fno-sanitize=all)
target_link_options(lwipsim_vclock_helper PRIVATE -fno-sanitize=all)
add_executable(lwipsim_vclock_tests ${CMAKE_CURRENT_LIST_DIR}/vclock_test.cpp)
target_link_libraries(lwipsim_vclock_tests PRIVATE lwipsim_host GTest::gtest_main)
target_compile_definitions(lwipsim_vclock_tests PRIVATE
    LWIPSIM_VCLOCK_LIBRARY="$<TARGET_FILE:lwipsim_vclock>"
    LWIPSIM_VCLOCK_HELPER="$<TARGET_FILE:lwipsim_vclock_helper>")
add_dependencies(lwipsim_vclock_tests lwipsim_vclock lwipsim_vclock_helper)
lwipsim_warnings(lwipsim_vclock_tests)
gtest_discover_tests(lwipsim_vclock_tests
    PROPERTIES LABELS integration
    DISCOVERY_TIMEOUT 30)

# Its deterministic side (seeded randomness, fixed pid; sim/host/vclock_determinism.c).
add_executable(lwipsim_vclock_determinism_helper
    ${CMAKE_CURRENT_LIST_DIR}/vclock_determinism_helper.c)
target_compile_options(lwipsim_vclock_determinism_helper PRIVATE -fno-sanitize=all)
target_link_options(lwipsim_vclock_determinism_helper PRIVATE -fno-sanitize=all)
add_executable(lwipsim_vclock_determinism_tests
    ${CMAKE_CURRENT_LIST_DIR}/vclock_determinism_test.cpp)
target_link_libraries(lwipsim_vclock_determinism_tests PRIVATE lwipsim_host GTest::gtest_main)
target_compile_definitions(lwipsim_vclock_determinism_tests PRIVATE
    LWIPSIM_VCLOCK_LIBRARY="$<TARGET_FILE:lwipsim_vclock>"
    LWIPSIM_VCLOCK_DETERMINISM_HELPER="$<TARGET_FILE:lwipsim_vclock_determinism_helper>")
add_dependencies(lwipsim_vclock_determinism_tests lwipsim_vclock
    lwipsim_vclock_determinism_helper)
lwipsim_warnings(lwipsim_vclock_determinism_tests)
gtest_discover_tests(lwipsim_vclock_determinism_tests
    PROPERTIES LABELS integration
    DISCOVERY_TIMEOUT 30)
