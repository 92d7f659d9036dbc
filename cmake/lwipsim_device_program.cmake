# lwipsim_add_device_program(<name> SOURCES <file>...): a device program (docs/programs.md), a
# shared object `lwipsim run` loads when the scenario says app.program. It links no library:
# lwIP, mbedTLS and the program API resolve against the lwipsim worker when it is loaded, so a
# call outside the API is a load error naming the symbol. Used in this tree and, through
# lwipsimConfig.cmake, by a user's own project after find_package(lwipsim).
function(lwipsim_add_device_program name)
    cmake_parse_arguments(P "" "" "SOURCES" ${ARGN})
    if(NOT P_SOURCES)
        message(FATAL_ERROR "lwipsim_add_device_program(${name}): no SOURCES")
    endif()
    add_library(${name} MODULE ${P_SOURCES})
    target_link_libraries(${name} PRIVATE lwipsim::program_headers)
    set_target_properties(${name} PROPERTIES PREFIX "lib")
    # The same program for the 32-bit device (abi: ilp32, the esp-idf-v4.4 default), as
    # ilp32/lib<name>.so beside lib<name>.so: the scenario names lib<name>.so and lwipsim-ilp32
    # loads the twin. Flags as cmake/toolchain-i386.cmake's, so both sides agree on layouts.
    if(LWIPSIM_PROGRAM_ILP32)
        add_library(${name}_ilp32 MODULE ${P_SOURCES})
        target_link_libraries(${name}_ilp32 PRIVATE lwipsim::program_headers)
        target_compile_options(${name}_ilp32 PRIVATE -m32 -msse2 -mfpmath=sse)
        target_link_options(${name}_ilp32 PRIVATE -m32)
        set_target_properties(${name}_ilp32 PROPERTIES PREFIX "lib" OUTPUT_NAME ${name}
            LIBRARY_OUTPUT_DIRECTORY $<TARGET_FILE_DIR:${name}>/ilp32)
        add_dependencies(${name} ${name}_ilp32)
    endif()
endfunction()
