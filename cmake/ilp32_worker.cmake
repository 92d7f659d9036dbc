# The 32-bit device (issue 16; docs/design.md "The device in 32 bits"): the whole lwipsim worker
# built again with -m32 (cmake/toolchain-i386.cmake) as bin/lwipsim-ilp32. `lwipsim run` hands
# every variant with `abi: ilp32` (the esp-idf-v4.4 default) to it, so lwIP's PCBs and pbufs,
# mbedTLS's contexts and the app's structures have an ESP32's 4-byte pointers. It is a nested
# build of this same source tree (only the lwipsim target), rebuilt whenever this one is.
if(NOT LWIPSIM_ILP32)
    return()
endif()
include(ExternalProject)
set(LWIPSIM_ILP32_DIR ${CMAKE_BINARY_DIR}/ilp32)
set(_ilp32_args
    -G ${CMAKE_GENERATOR}
    -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/toolchain-i386.cmake
    -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DLWIPSIM_WORKER_ONLY=ON
    # -Wconversion finds 64-to-32-bit narrowings here that the host build cannot see; they are
    # reported, not fatal, in this build.
    -DLWIPSIM_WERROR=OFF)
foreach(var CMAKE_C_COMPILER_LAUNCHER CMAKE_CXX_COMPILER_LAUNCHER)
    if(${var})
        list(APPEND _ilp32_args -D${var}=${${var}})
    endif()
endforeach()
ExternalProject_Add(lwipsim_ilp32
    SOURCE_DIR ${PROJECT_SOURCE_DIR}
    BINARY_DIR ${LWIPSIM_ILP32_DIR}
    CMAKE_ARGS ${_ilp32_args}
    BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --target lwipsim
    BUILD_ALWAYS ON # its sources are this tree's: let its own build decide what is stale
    INSTALL_COMMAND ${CMAKE_COMMAND} -E copy_if_different <BINARY_DIR>/bin/lwipsim
                    ${CMAKE_BINARY_DIR}/bin/lwipsim-ilp32
    BUILD_BYPRODUCTS ${CMAKE_BINARY_DIR}/bin/lwipsim-ilp32
    USES_TERMINAL_BUILD ON)
# Built with the CLI, so `cmake --build` gives a tree whose default scenarios can run.
add_dependencies(lwipsim lwipsim_ilp32)
