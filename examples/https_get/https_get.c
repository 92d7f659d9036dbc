/* https_get: an "OTA" download loop (docs/programs.md). Every `interval_s` seconds the device
 * fetches the scenario's https_server file over TLS (HTTP/1.0 GET, esp-tls semantics through
 * lwipsim_tls_connect: the run's CA, the scenario's SO_LINGER), hashes the body with mbedTLS's
 * SHA-256 while it arrives, and compares size and digest with what the harness says it serves.
 * Events: "ota_done" (detail: the sha256) when both match, "ota_bad_image" when they do not,
 * "ota_failed" (detail: why) when the connection or a read fails or times out.
 *
 * args: interval_s (default 30), read_timeout_ms (default 10000).
 */
#include "lwipsim/freertos.h"
#include "lwipsim/program.h"

#include "mbedtls/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* TAG = "https_get";

static void to_hex(const unsigned char* d, size_t n, char* out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* One download. Returns the event it recorded. */
static const char* download(uint32_t read_timeout_ms) {
    const char* port = lwipsim_run_info("https.port");
    const char* path = lwipsim_run_info("https.path");
    const char* want_sha = lwipsim_run_info("https.sha256");
    unsigned long long want_size = strtoull(lwipsim_run_info("https.size"), NULL, 10);
    lwipsim_tls_cfg cfg = {NULL, (uint16_t)atoi(port), NULL, NULL, 0};
    lwipsim_tls* tls = lwipsim_tls_connect(&cfg);
    if (tls == NULL) {
        lwipsim_event("ota_failed", lwipsim_tls_last_error());
        return "ota_failed";
    }
    char request[128];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\n\r\n", path);
    const char* result = "ota_failed";
    const char* why = "request not sent";
    unsigned char* buf = pvPortMalloc(1460); /* one segment's worth, on the device heap */
    mbedtls_sha256_context sha;
    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts_ret(&sha, 0);
    if (buf != NULL && lwipsim_tls_write(tls, request, (size_t)n, read_timeout_ms) == n) {
        /* The header ends at the first blank line; the body runs to the end of the stream. */
        char header[512];
        size_t header_len = 0;
        int in_body = 0;
        unsigned long long body = 0;
        why = NULL;
        for (;;) {
            int r = lwipsim_tls_read(tls, buf, 1460, read_timeout_ms);
            if (r == 0)
                break; /* the server closed: the whole file came */
            if (r < 0) {
                why = r == LWIPSIM_TLS_TIMEOUT ? "read timed out" : "read failed";
                break;
            }
            size_t off = 0;
            while (!in_body && off < (size_t)r) {
                if (header_len + 1 >= sizeof header) {
                    why = "header too long";
                    break;
                }
                header[header_len++] = (char)buf[off++];
                header[header_len] = '\0';
                in_body = header_len >= 4 && strcmp(header + header_len - 4, "\r\n\r\n") == 0;
            }
            if (why != NULL)
                break;
            mbedtls_sha256_update_ret(&sha, buf + off, (size_t)r - off);
            body += (size_t)r - off;
        }
        if (why == NULL && strncmp(header, "HTTP/1.0 200", 12) != 0)
            why = "not HTTP 200";
        if (why == NULL) {
            unsigned char digest[32];
            char hex[65];
            mbedtls_sha256_finish_ret(&sha, digest);
            to_hex(digest, sizeof digest, hex);
            int good = body == want_size && strcmp(hex, want_sha) == 0;
            ESP_LOGI(TAG, "%llu bytes, sha256 %s: %s", body, hex, good ? "ok" : "MISMATCH");
            result = good ? "ota_done" : "ota_bad_image";
            lwipsim_event(result, hex);
        }
    }
    mbedtls_sha256_free(&sha);
    vPortFree(buf);
    lwipsim_tls_destroy(tls);
    if (why != NULL) {
        ESP_LOGW(TAG, "download failed: %s", why);
        lwipsim_event("ota_failed", why);
    }
    return result;
}

int lwipsim_program_main(const lwipsim_args* args) {
    if (lwipsim_run_info("https.port") == NULL) {
        ESP_LOGE(TAG, "the scenario has no https_server");
        return 2;
    }
    const long long interval_s = lwipsim_arg_int(args, "interval_s", 30);
    const uint32_t read_timeout_ms = (uint32_t)lwipsim_arg_int(args, "read_timeout_ms", 10000);
    TickType_t wake = xTaskGetTickCount();
    /* Until the run ends: the last download may be cut there. */
    for (;;) {
        download(read_timeout_ms);
        vTaskDelayUntil(&wake, pdMS_TO_TICKS(interval_s * 1000));
    }
    return 0;
}
