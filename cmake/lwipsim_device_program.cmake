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
endfunction()
