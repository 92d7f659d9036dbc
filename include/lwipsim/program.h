/* lwipsim device program API, version 1 (docs/programs.md).
 *
 * A device program is a shared object with one entry point, lwipsim_program_main, which
 * lwipsim starts as a simulated thread on the device when the scenario says
 *     app: {program: path/to/libmyapp.so, args: {key: value}}
 * Inside it, the program uses lwIP's sockets (lwipsim/sockets.h), mbedTLS, the FreeRTOS-style
 * subset (lwipsim/freertos.h) and the helpers below. Every call blocks in simulated time only;
 * the program gives the baton away whenever it waits, as a task on an RTOS does.
 *
 * Usable from C and C++. Every function here is called from a simulated thread (the program's
 * own, or one it created with lwipsim_thread_create / xTaskCreate).
 */
#ifndef LWIPSIM_PROGRAM_H
#define LWIPSIM_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LWIPSIM_API_VERSION 1

/* ---- Entry point and arguments ------------------------------------------------------------ */

typedef struct lwipsim_arg {
    const char* key;
    const char* value;
} lwipsim_arg;

/* The scenario's app.args, in the order written. Valid until the program's main returns. */
typedef struct lwipsim_args {
    size_t count;
    const lwipsim_arg* items;
} lwipsim_args;

/* Implemented by the program. Returns 0 when it succeeded; anything else fails the run with
 * that code. Returning ends the program (threads it created keep running until the run ends). */
int lwipsim_program_main(const lwipsim_args* args);

/* The value of `key`, or `fallback` when the scenario did not set it. */
const char* lwipsim_arg_str(const lwipsim_args* args, const char* key, const char* fallback);
/* The value of `key` as a whole number (decimal), or `fallback` when unset. A value that is
 * not a number fails the run (a scenario error in the program's arguments). */
long long lwipsim_arg_int(const lwipsim_args* args, const char* key, long long fallback);

/* What the run offers the program, by key; NULL for a key it does not have:
 *   broker.ip, broker.port, broker.server_name    the run's MQTT broker (TLS)
 *   https.port, https.path, https.size, https.sha256   the scenario's https_server: where the
 *       device reaches it (broker.ip), the file it serves, its size and sha256 (lowercase hex)
 */
const char* lwipsim_run_info(const char* key);

/* ---- Virtual time and threads -------------------------------------------------------------- */

/* Virtual milliseconds since the run started. */
uint64_t lwipsim_now_ms(void);
/* Virtual milliseconds at which the run ends (its duration). */
uint64_t lwipsim_end_ms(void);
/* Sleeps `ms` virtual milliseconds (0 yields to ready threads of the same priority). */
void lwipsim_sleep_ms(uint32_t ms);

typedef void (*lwipsim_thread_fn)(void* arg);
/* Starts a simulated thread (FreeRTOS priorities: higher runs first; lwIP's tcpip thread has
 * 18, the program's main thread 5). It runs once the caller next waits. Returns 0. */
int lwipsim_thread_create(const char* name, lwipsim_thread_fn fn, void* arg, int priority);

/* ---- Log and events ------------------------------------------------------------------------ */

enum {
    LWIPSIM_LOG_ERROR = 1,
    LWIPSIM_LOG_WARN = 2,
    LWIPSIM_LOG_INFO = 3,
    LWIPSIM_LOG_DEBUG = 4,
    LWIPSIM_LOG_VERBOSE = 5
};
/* A line in the run's program.log, stamped with virtual time:
 * "[  12.345678] I (tag) text". */
void lwipsim_log(int level, const char* tag, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Records an event `name` (letters, digits, '_', '.', '-'; up to 64 bytes) in events.jsonl as
 * {"type": "program_event", "name": name, "detail": detail}; `detail` may be NULL. Each name is
 * counted: summary.json program.events.<name>, and the metric program.events.<name>. */
void lwipsim_event(const char* name, const char* detail);

/* ---- Device heap --------------------------------------------------------------------------- */

/* Memory from the device heap (subsystem app: counted against heap.budget, plotted, and what is
 * still allocated when the program's main returns is reported as leaked). Plain malloc is host
 * memory: not measured. NULL when the budget is exhausted, as on the device. */
void* lwipsim_malloc(size_t size);
void* lwipsim_calloc(size_t count, size_t size);
void lwipsim_free(void* ptr);
/* Free device heap in bytes (budget - in use). */
size_t lwipsim_heap_free(void);

/* ---- TLS connect helper (esp-tls semantics) ------------------------------------------------ */

typedef struct lwipsim_tls lwipsim_tls;

typedef struct lwipsim_tls_cfg {
    /* Where to connect, as the device sees it. NULL / 0: the run's broker (its TLS port). */
    const char* ip;
    uint16_t port;
    /* SNI and the name the certificate must carry; NULL: the broker's. */
    const char* server_name;
    /* Trusted CA (PEM text); NULL: the run's broker CA. */
    const char* ca_pem;
    /* Connect and handshake timeout in ms; 0: the scenario's app.network_timeout. */
    uint32_t timeout_ms;
} lwipsim_tls_cfg;

/* Opens a TLS connection as esp_tls_conn_new_sync does: lwip_socket, SO_LINGER and TCP
 * keepalive from the scenario (app.linger, lwip.keepalive), non-blocking connect bounded by the
 * timeout, mbedTLS handshake verifying the CA and the name. `cfg` may be NULL (the broker).
 * Returns NULL on failure; lwipsim_tls_last_error() says why. */
lwipsim_tls* lwipsim_tls_connect(const lwipsim_tls_cfg* cfg);
/* Why the calling thread's last lwipsim_tls_connect failed ("" when it did not). */
const char* lwipsim_tls_last_error(void);

#define LWIPSIM_TLS_TIMEOUT (-2) /* nothing within the timeout (esp-tls: WANT_READ/WRITE) */
#define LWIPSIM_TLS_ERROR (-1)   /* the connection failed; destroy it */

/* Writes all of buf within timeout_ms: len, LWIPSIM_TLS_TIMEOUT or LWIPSIM_TLS_ERROR. */
int lwipsim_tls_write(lwipsim_tls* tls, const void* buf, size_t len, uint32_t timeout_ms);
/* Reads up to len bytes within timeout_ms: > 0 bytes, 0 when the peer closed,
 * LWIPSIM_TLS_TIMEOUT or LWIPSIM_TLS_ERROR. */
int lwipsim_tls_read(lwipsim_tls* tls, void* buf, size_t len, uint32_t timeout_ms);
/* The lwIP socket under the connection (for lwip_setsockopt, lwip_select). */
int lwipsim_tls_fd(const lwipsim_tls* tls);
/* esp_tls_conn_destroy: frees the TLS context, shutdown(SHUT_RDWR), close (no close_notify
 * unless app.close_notify), and frees the handle. NULL is a no-op. */
void lwipsim_tls_destroy(lwipsim_tls* tls);

#ifdef __cplusplus
}
#endif

#endif /* LWIPSIM_PROGRAM_H */
