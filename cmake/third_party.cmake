# Builds lwIP 2.1.3 and mbedTLS 2.28 from the Debian source packages that
# third_party/fetch_sources.sh unpacked, against lwipsim's own option headers.
# Their C keeps its own flags; lwipsim's warning flags do not apply here.

set(LWIPSIM_THIRD_PARTY ${CMAKE_SOURCE_DIR}/third_party/src)
if(NOT EXISTS ${LWIPSIM_THIRD_PARTY}/lwip/src/core/tcp.c OR
   NOT EXISTS ${LWIPSIM_THIRD_PARTY}/mbedtls/library/ssl_tls.c)
    message(FATAL_ERROR "lwIP/mbedTLS sources missing: run scripts/bootstrap first")
endif()

# --- lwIP: core (IPv4), sequential API (sockets/netconn/tcpip), Ethernet netif -------------
set(LWIP_DIR ${LWIPSIM_THIRD_PARTY}/lwip)
include(${LWIP_DIR}/src/Filelists.cmake)
add_library(lwip_objs OBJECT
    ${lwipcore_SRCS} ${lwipcore4_SRCS} ${lwipapi_SRCS}
    ${LWIP_DIR}/src/netif/ethernet.c)
target_include_directories(lwip_objs PUBLIC
    ${CMAKE_SOURCE_DIR}/sim/port/lwip/include
    ${LWIP_DIR}/src/include)
target_compile_options(lwip_objs PRIVATE -w)
set_target_properties(lwip_objs PROPERTIES POSITION_INDEPENDENT_CODE ON)

# --- mbedTLS: the library with our config additions ---------------------------------------
set(MBEDTLS_DIR ${LWIPSIM_THIRD_PARTY}/mbedtls)
file(GLOB mbedtls_SRCS ${MBEDTLS_DIR}/library/*.c)
add_library(mbedtls_sim STATIC ${mbedtls_SRCS})
target_include_directories(mbedtls_sim
    PUBLIC ${MBEDTLS_DIR}/include ${CMAKE_SOURCE_DIR}/sim/port/mbedtls/include
    PRIVATE ${MBEDTLS_DIR}/library)
target_compile_definitions(mbedtls_sim PUBLIC
    MBEDTLS_USER_CONFIG_FILE="lwipsim_mbedtls_config.h")
target_compile_options(mbedtls_sim PRIVATE -w)
