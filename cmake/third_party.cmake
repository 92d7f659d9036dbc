# Builds lwIP 2.1.3 and mbedTLS 2.28 from the Debian source packages that
# third_party/fetch_sources.sh unpacked, against lwipsim's own option headers.
# Their C keeps its own flags; lwipsim's warning flags do not apply here.

set(LWIPSIM_THIRD_PARTY ${CMAKE_SOURCE_DIR}/third_party/src)
if(NOT EXISTS ${LWIPSIM_THIRD_PARTY}/lwip/src/core/tcp.c OR
   NOT EXISTS ${LWIPSIM_THIRD_PARTY}/mbedtls/library/ssl_tls.c)
    message(FATAL_ERROR "lwIP/mbedTLS sources missing: run scripts/bootstrap first")
endif()
# A tree prepared before a patch in third_party/patches/lwip was added or changed must be
# re-prepared, or lwIP builds without it. fetch_sources.sh's stamp hashes the patches: it
# returns at once when they match, else unpacks again (reusing verified downloads) and patches.
# Configure re-runs whenever the set of patches or one of them changes.
file(GLOB LWIPSIM_LWIP_PATCHES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/third_party/patches/lwip/*.patch)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${LWIPSIM_LWIP_PATCHES})
execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/third_party/fetch_sources.sh
                RESULT_VARIABLE lwipsim_fetch_rc)
if(NOT lwipsim_fetch_rc EQUAL 0)
    message(FATAL_ERROR "third_party/fetch_sources.sh failed (exit ${lwipsim_fetch_rc}): "
                        "the lwIP sources do not match third_party/patches/lwip")
endif()

# --- lwIP: core (IPv4), sequential API (sockets/netconn/tcpip), Ethernet netif -------------
# One lwIP build per option profile (compile-time options differ: TCP_MSS, TCP_SND_BUF...).
# Each simulated device runs as its own process, so a profile is a separate binary.
set(LWIP_DIR ${LWIPSIM_THIRD_PARTY}/lwip)
include(${LWIP_DIR}/src/Filelists.cmake)
set(LWIPSIM_PROFILES esp-idf-v4.4 upstream-2.1.3)
set(LWIPSIM_PROFILE_IDS esp_idf_v4_4 upstream_2_1_3)
set(LWIPSIM_LWIP_SRCS ${lwipcore_SRCS} ${lwipcore4_SRCS} ${lwipapi_SRCS}
    ${LWIP_DIR}/src/netif/ethernet.c)

function(lwipsim_lwip_objects profile_id)
    string(TOUPPER ${profile_id} upper)
    add_library(lwip_objs_${profile_id} OBJECT ${LWIPSIM_LWIP_SRCS})
    target_include_directories(lwip_objs_${profile_id} PUBLIC
        ${CMAKE_SOURCE_DIR}/sim/port/lwip/include
        ${LWIP_DIR}/src/include)
    target_compile_definitions(lwip_objs_${profile_id} PUBLIC LWIPSIM_PROFILE_${upper})
    target_compile_options(lwip_objs_${profile_id} PRIVATE -w)
endfunction()
foreach(id IN LISTS LWIPSIM_PROFILE_IDS)
    lwipsim_lwip_objects(${id})
endforeach()

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
