# `cmake --install`: the lwipsim executables (with the broker's clock library beside them), the
# device program API's headers with lwIP's and mbedTLS's (esp-idf-v4.4 profile options), and the
# CMake package lwipsimConfig.cmake for a user's own device programs (docs/programs.md).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_lwipsim_exes lwipsim)
foreach(id IN LISTS LWIPSIM_PROFILE_IDS)
    if(NOT id STREQUAL "esp_idf_v4_4")
        string(REPLACE "_" "." dotted ${id})
        string(REGEX REPLACE "^upstream\\." "upstream-" exe_suffix ${dotted})
        list(APPEND _lwipsim_exes lwipsim-${exe_suffix})
    endif()
endforeach()
install(TARGETS ${_lwipsim_exes} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(LWIPSIM_ILP32) # the 32-bit device worker, built by cmake/ilp32_worker.cmake
    install(PROGRAMS ${CMAKE_BINARY_DIR}/bin/lwipsim-ilp32 DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
# Found next to the executable (sim/host/vclock_peer.h).
install(TARGETS lwipsim_vclock LIBRARY DESTINATION ${CMAKE_INSTALL_BINDIR})

set(_inc ${CMAKE_INSTALL_INCLUDEDIR}/lwipsim)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lwipsim/ DESTINATION ${_inc})
install(DIRECTORY ${LWIP_DIR}/src/include/ DESTINATION ${_inc}/lwip)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sim/port/lwip/include/ DESTINATION ${_inc}/lwip-port)
install(DIRECTORY ${MBEDTLS_DIR}/include/ DESTINATION ${_inc}/mbedtls)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sim/port/mbedtls/include/ DESTINATION ${_inc}/mbedtls)

set(_pkg ${CMAKE_INSTALL_LIBDIR}/cmake/lwipsim)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lwipsimConfig.cmake.in
    ${PROJECT_BINARY_DIR}/lwipsimConfig.cmake INSTALL_DESTINATION ${_pkg})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lwipsimConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lwipsimConfig.cmake
              ${PROJECT_BINARY_DIR}/lwipsimConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/lwipsim_device_program.cmake
        DESTINATION ${_pkg})
