/* lwipsim's additions to mbedTLS 2.28's default config.h (included as MBEDTLS_USER_CONFIG_FILE).
 * ESP-IDF-like record buffers (IN 16384 / OUT 4096, asymmetric, no dynamic buffers) and every
 * allocation through the device heap. Nothing here may touch the host's network or clock. */
#ifndef LWIPSIM_MBEDTLS_CONFIG_H
#define LWIPSIM_MBEDTLS_CONFIG_H

#define MBEDTLS_PLATFORM_MEMORY     /* calloc/free set at run time to the device heap */
#define MBEDTLS_PLATFORM_TIME_ALT   /* mbedtls_time() is the device's clock (virtual) */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#undef MBEDTLS_NET_C     /* the device talks through lwIP sockets, never host sockets */
#undef MBEDTLS_TIMING_C  /* reads the wall clock */
#undef MBEDTLS_HAVEGE_C

#endif
