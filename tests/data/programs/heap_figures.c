/* heap_figures: measures the device-heap figures of docs/fidelity.md ("Heap figures by ABI and
 * allocator") from the device's own side, with lwipsim_heap_free() before and after each step.
 * tests/scenario/heap_figures_check.py runs it with abi host/ilp32 and allocator none/esp-idf-v4.4
 * and checks each figure against lwIP's structure sizes and the heap's block-cost arithmetic.
 *
 * Every figure is "bytes of device heap held above the baseline" (the free heap before the first
 * step; the program itself allocates nothing), recorded as an event whose detail is the number:
 *   baseline    the free heap at start
 *   socket      lwip_socket(AF_INET, SOCK_STREAM): its netconn and its tcp_pcb
 *   session     one established TLS connection after an MQTT CONNECT/CONNACK
 *   time_wait   10 s after that session was closed by the device first: shutdown(SHUT_WR) sends
 *               its FIN, the broker answers with its TLS close_notify and FIN, which the device
 *               reads to the end before destroying the connection, so its PCB is in TIME_WAIT
 *               (2 x TCP_MSL = 120 s) with nothing queued. (Destroying at once would make the
 *               close_notify arrive after the close: lwIP answers data after close with a RST.)
 *   clean       after TIME_WAIT has expired: must be 0 (nothing else was left behind)
 *   fin_wait_1  5 s after a second session was closed with an MQTT PINGREQ unacknowledged (the
 *               event "blackhole" starts the scenario's blackhole just before that PINGREQ):
 *               the field case's abandoned PCB
 * The TLS handshake peak is the run's heap.min_free against the baseline (summary.json).
 */
#include "lwipsim/program.h"
#include "lwipsim/sockets.h"

#include <stdio.h>
#include <string.h>

static size_t g_baseline;

static void record(const char* name, size_t value) {
    char text[32];
    snprintf(text, sizeof text, "%zu", value);
    lwipsim_event(name, text);
}

/* Heap held now above the baseline. */
static size_t held(void) {
    return g_baseline - lwipsim_heap_free();
}

/* MQTT 3.1.1 CONNECT, clean session, keepalive 0 (the broker never times the session out), then
 * the CONNACK: 1 when the broker accepted. */
static int mqtt_connect(lwipsim_tls* tls) {
    static const uint8_t connect[] = {0x10, 0x12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02,
                                      0x00, 0x00, 0x00, 0x06, 'f', 'i', 'g', 'u', 'r',  'e'};
    uint8_t connack[4];
    if (lwipsim_tls_write(tls, connect, sizeof connect, 10000) != (int)sizeof connect)
        return 0;
    int got = 0;
    while (got < 4) {
        int r = lwipsim_tls_read(tls, connack + got, 4 - (size_t)got, 10000);
        if (r <= 0)
            return 0;
        got += r;
    }
    return connack[0] == 0x20 && connack[1] == 0x02 && connack[3] == 0x00;
}

static lwipsim_tls* open_session(void) {
    lwipsim_tls* tls = lwipsim_tls_connect(NULL);
    if (tls == NULL) {
        lwipsim_log(1, "figures", "TLS connect failed: %s", lwipsim_tls_last_error());
        return NULL;
    }
    if (!mqtt_connect(tls)) {
        lwipsim_log(1, "figures", "no CONNACK");
        lwipsim_tls_destroy(tls);
        return NULL;
    }
    return tls;
}

int lwipsim_program_main(const lwipsim_args* args) {
    (void)args;
    g_baseline = lwipsim_heap_free();
    record("baseline", g_baseline);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 1;
    record("socket", held());
    closesocket(s); /* never connected: lwIP frees its PCB at once */

    lwipsim_tls* tls = open_session();
    if (tls == NULL)
        return 1;
    record("session", held());
    shutdown(lwipsim_tls_fd(tls), SHUT_WR);
    uint8_t rest[64];
    while (lwipsim_tls_read(tls, rest, sizeof rest, 10000) > 0) {
    }
    lwipsim_tls_destroy(tls);
    lwipsim_sleep_ms(10000);
    record("time_wait", held());
    lwipsim_sleep_ms(125000); /* 2 x TCP_MSL and a few slow-timer ticks */
    record("clean", held());

    tls = open_session();
    if (tls == NULL)
        return 1;
    lwipsim_event("blackhole", NULL);
    static const uint8_t pingreq[] = {0xc0, 0x00};
    if (lwipsim_tls_write(tls, pingreq, sizeof pingreq, 10000) != (int)sizeof pingreq)
        return 1;
    lwipsim_tls_destroy(tls); /* esp-tls: shutdown + close, no SO_LINGER: FIN_WAIT_1 */
    lwipsim_sleep_ms(5000);
    record("fin_wait_1", held());
    return 0;
}
