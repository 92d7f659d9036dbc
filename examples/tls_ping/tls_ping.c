/* tls_ping: a device program in ESP-IDF style (docs/programs.md, the tutorial's example).
 *
 * A task connects to the run's MQTT broker over TLS every `interval_s` seconds (esp-tls
 * semantics through lwipsim_tls_connect: the scenario's SO_LINGER, the broker's CA), sends an
 * MQTT CONNECT, waits for the CONNACK, disconnects and closes. Each CONNACK is the event
 * "connack", each failure "connect_failed". After `rounds` rounds the task tells main through
 * an event group; main frees what it allocated and returns 0.
 *
 * args: rounds (default 10), interval_s (default 30), client_id (default "tls-ping").
 */
#include "lwipsim/freertos.h"
#include "lwipsim/program.h"
#include "lwipsim/sockets.h"

#include <string.h>

static const char* TAG = "tls_ping";
#define DONE_BIT (1u << 0)

struct ping_config {
    long long rounds;
    long long interval_s;
    const char* client_id;
    EventGroupHandle_t done;
};

/* MQTT 3.1.1 CONNECT (3.1): protocol "MQTT" level 4, clean session, keepalive 60 s. */
static size_t build_connect(uint8_t* out, size_t cap, const char* client_id) {
    size_t id_len = strlen(client_id);
    size_t remaining = 10 + 2 + id_len;
    if (id_len > 23 || remaining + 2 > cap)
        return 0;
    const uint8_t header[] = {
        0x10, (uint8_t)remaining, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c,
        0x00, (uint8_t)id_len};
    memcpy(out, header, sizeof header);
    memcpy(out + sizeof header, client_id, id_len);
    return sizeof header + id_len;
}

/* One round: true when the broker accepted the session (CONNACK return code 0). */
static int ping_once(const char* client_id) {
    lwipsim_tls* tls = lwipsim_tls_connect(NULL); /* the run's broker */
    if (tls == NULL) {
        ESP_LOGW(TAG, "connect failed: %s", lwipsim_tls_last_error());
        lwipsim_event("connect_failed", lwipsim_tls_last_error());
        return 0;
    }
    uint8_t* buf = pvPortMalloc(64); /* device heap, like the app's own buffers */
    int ok = 0;
    size_t n = buf != NULL ? build_connect(buf, 64, client_id) : 0;
    if (n > 0 && lwipsim_tls_write(tls, buf, n, 10000) == (int)n) {
        int got = 0;
        while (got < 4) {
            int r = lwipsim_tls_read(tls, buf + got, 4 - (size_t)got, 10000);
            if (r <= 0)
                break;
            got += r;
        }
        ok = got == 4 && buf[0] == 0x20 && buf[1] == 0x02 && buf[3] == 0x00;
        if (ok) {
            static const uint8_t disconnect[] = {0xe0, 0x00};
            lwipsim_tls_write(tls, disconnect, sizeof disconnect, 10000);
        }
    }
    vPortFree(buf);
    lwipsim_tls_destroy(tls);
    lwipsim_event(ok ? "connack" : "connect_failed", ok ? NULL : "no CONNACK");
    return ok;
}

static void ping_task(void* arg) {
    struct ping_config* cfg = arg;
    TickType_t wake = xTaskGetTickCount();
    for (long long i = 0; i < cfg->rounds; ++i) {
        int ok = ping_once(cfg->client_id);
        ESP_LOGI(TAG, "round %lld: %s, free heap %u", i, ok ? "CONNACK" : "failed",
                 (unsigned)esp_get_free_heap_size());
        if (i + 1 < cfg->rounds)
            vTaskDelayUntil(&wake, pdMS_TO_TICKS(cfg->interval_s * 1000));
    }
    xEventGroupSetBits(cfg->done, DONE_BIT);
    vTaskDelete(NULL);
}

int lwipsim_program_main(const lwipsim_args* args) {
    struct ping_config cfg = {
        lwipsim_arg_int(args, "rounds", 10),
        lwipsim_arg_int(args, "interval_s", 30),
        lwipsim_arg_str(args, "client_id", "tls-ping"),
        xEventGroupCreate(),
    };
    if (cfg.done == NULL || xTaskCreate(ping_task, "ping", 4096, &cfg, 5, NULL) != pdPASS) {
        ESP_LOGE(TAG, "no heap for the task");
        return 1;
    }
    xEventGroupWaitBits(cfg.done, DONE_BIT, pdTRUE, pdTRUE, portMAX_DELAY);
    vEventGroupDelete(cfg.done);
    ESP_LOGI(TAG, "done");
    return 0;
}
