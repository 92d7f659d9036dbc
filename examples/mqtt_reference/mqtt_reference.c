/* mqtt_reference: lwipsim's built-in MQTT client written as a device program (docs/programs.md).
 *
 * It is user code: it uses only the public API (lwipsim/program.h, lwipsim/freertos.h) and
 * encodes MQTT 3.1.1 itself (OASIS standard, section numbers below). It behaves as an ESP-IDF
 * 4.4 application on esp-mqtt does, in the ways the field case depends on:
 *  - connect: esp-tls (lwipsim_tls_connect: the scenario's SO_LINGER, keepalive and timeouts),
 *    then CONNECT, and CONNACK awaited for network_timeout_ms;
 *  - the client task's loop: one iteration (handle what arrived, delete expired outbox items,
 *    resend one QoS 1 message older than 1 s, the keepalive check), then a poll read of up to
 *    1 s (MQTT_POLL_READ_TIMEOUT_MS), cut short by arriving bytes or the next publish;
 *  - keepalive as esp-mqtt does it: PINGREQ once more than keepalive/2 has passed since the
 *    last successful write of any packet; if still unanswered more than keepalive/2 after that
 *    PINGREQ, "No PING_RESP": the connection is given up;
 *  - telemetry every publish_interval_ms (no catch-up burst after a late publish), payload
 *    "seq=N;" padded with '.' to publish_size bytes, at publish_qos;
 *  - any failed or timed-out write (network_timeout_ms) gives the connection up;
 *  - giving up: esp_tls_conn_destroy (lwipsim_tls_destroy: no close_notify, shutdown, close,
 *    with the scenario's SO_LINGER), then reconnect_delay_ms, then connect again;
 *  - the client's two buffers (buffer_size in, out_buffer_size out; 0 = buffer_size) come
 *    from the device heap once, at client init, and live as long as the client; every packet
 *    is encoded in the out buffer and decoded from the in buffer (larger ones are an error);
 *  - QoS 1: each message is stored in an outbox (an item record and a copy of the message,
 *    two device-heap blocks, as esp-mqtt's outbox_enqueue) until its PUBACK; items more than
 *    30 s after their first write are deleted at each loop iteration (OUTBOX_EXPIRED_TIMEOUT_MS);
 *    the outbox outlives each connection, but only the current connection's items are resent.
 *
 * Events (summary.json program.events, metrics program.events.<name>): mqtt_connected (detail:
 * free device heap at the CONNACK), mqtt_disconnected (detail: why), connect_failed (esp-tls
 * failed, detail: why), mqtt_connect_failed, ping_timeout, mqtt_published, mqtt_received (a
 * message of the subscription), client_init_failed.
 *
 * args (app.args; defaults are the built-in client's): client_id (lwipsim-device), keepalive_s
 * (120; 0 = no pings), topic (lwipsim/telemetry), publish_interval_ms (0 = no publishing),
 * publish_size (64), publish_qos (0 or 1), reconnect_delay_ms (10000), network_timeout_ms
 * (10000), buffer_size (1024), out_buffer_size (0), subscribe_topic (none), subscribe_qos (0).
 *
 * The client runs on the program's main thread (like the built-in client's thread, it has no
 * device-heap stack: an xTaskCreate'd task would charge its stack to the heap) and never
 * returns: as on the device, it stops only when the run ends.
 */
#include "lwipsim/freertos.h"
#include "lwipsim/program.h"

#include <stdio.h>
#include <string.h>

static const char* TAG = "mqtt_ref";

#define POLL_READ_TIMEOUT_MS 1000u /* esp-mqtt MQTT_POLL_READ_TIMEOUT_MS */
#define RESEND_AGE_MS 1000u        /* esp-mqtt resends items older than this */
#define OUTBOX_EXPIRY_MS 30000u    /* esp-mqtt OUTBOX_EXPIRED_TIMEOUT_MS */

struct config {
    const char* client_id;
    const char* topic;
    const char* subscribe_topic; /* NULL: no subscription */
    long long keepalive_s, publish_interval_ms, publish_size, publish_qos, subscribe_qos;
    long long reconnect_delay_ms, network_timeout_ms, buffer_size, out_buffer_size;
};

/* A QoS 1 message awaiting its PUBACK (esp-mqtt's outbox_item_t and its message copy). */
struct outbox_item {
    struct outbox_item* next;
    uint8_t* message;
    size_t len;
    unsigned connection; /* packet ids belong to one connection */
    uint16_t packet_id;
    uint64_t tick;      /* first write completed: the expiry counts from here */
    uint64_t last_sent; /* first write or last resend */
};

/* The client: lives for the whole program, across connections. */
struct client {
    struct config cfg;
    uint8_t* in;  /* buffer_size bytes */
    uint8_t* out; /* out_buffer_size bytes */
    size_t in_cap, out_cap;
    struct outbox_item* outbox;
    unsigned connection;
    uint64_t publish_seq;
};

/* One connection. */
struct session {
    struct client* c;
    lwipsim_tls* tls;
    size_t in_len; /* bytes in c->in not yet decoded */
    uint64_t keepalive_tick;
    int wait_for_ping_resp;
    uint64_t next_publish;
    uint16_t last_packet_id;
    char why[160]; /* set when the session fails */
};

static uint64_t now_ms(void) {
    return lwipsim_now_ms();
}

static int fail(struct session* s, const char* what) {
    snprintf(s->why, sizeof s->why, "%s", what);
    return -1;
}

/* ---- MQTT 3.1.1 encoding into the out buffer (0: does not fit) ------------------------------ */

/* Remaining Length (2.2.3) after the first byte; returns the header's size. */
static size_t put_header(uint8_t* out, uint8_t first, size_t remaining) {
    size_t n = 0;
    out[n++] = first;
    do {
        uint8_t digit = remaining % 128;
        remaining /= 128;
        out[n++] = remaining > 0 ? (uint8_t)(digit | 0x80) : digit;
    } while (remaining > 0);
    return n;
}

static size_t header_size(size_t remaining) {
    size_t n = 2;
    for (; remaining >= 128; remaining /= 128)
        ++n;
    return n;
}

static size_t put_string(uint8_t* out, const char* text) {
    size_t len = strlen(text);
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, text, len);
    return 2 + len;
}

/* CONNECT (3.1): protocol "MQTT", level 4, clean session, keepalive, client id. */
static size_t encode_connect(struct client* c) {
    size_t remaining = 10 + 2 + strlen(c->cfg.client_id);
    if (header_size(remaining) + remaining > c->out_cap)
        return 0;
    uint8_t* p = c->out + put_header(c->out, 0x10, remaining);
    p += put_string(p, "MQTT");
    *p++ = 4;
    *p++ = 0x02; /* clean session */
    *p++ = (uint8_t)(c->cfg.keepalive_s >> 8);
    *p++ = (uint8_t)c->cfg.keepalive_s;
    p += put_string(p, c->cfg.client_id);
    return (size_t)(p - c->out);
}

/* PUBLISH (3.3) with the telemetry payload: "seq=N;" padded with '.' to publish_size. */
static size_t encode_publish(struct client* c, uint16_t packet_id) {
    const struct config* cfg = &c->cfg;
    size_t size = (size_t)cfg->publish_size;
    size_t remaining = 2 + strlen(cfg->topic) + (cfg->publish_qos > 0 ? 2 : 0) + size;
    if (header_size(remaining) + remaining > c->out_cap)
        return 0;
    uint8_t* p = c->out + put_header(c->out, (uint8_t)(0x30 | (cfg->publish_qos << 1)), remaining);
    p += put_string(p, cfg->topic);
    if (cfg->publish_qos > 0) {
        *p++ = (uint8_t)(packet_id >> 8);
        *p++ = (uint8_t)packet_id;
    }
    char seq[32];
    size_t n = (size_t)snprintf(seq, sizeof seq, "seq=%llu;", (unsigned long long)c->publish_seq++);
    memset(p, '.', size);
    memcpy(p, seq, n < size ? n : size);
    return (size_t)(p + size - c->out);
}

/* SUBSCRIBE (3.8): one topic filter. */
static size_t encode_subscribe(struct client* c, uint16_t packet_id) {
    size_t remaining = 2 + 2 + strlen(c->cfg.subscribe_topic) + 1;
    if (header_size(remaining) + remaining > c->out_cap)
        return 0;
    uint8_t* p = c->out + put_header(c->out, 0x82, remaining);
    *p++ = (uint8_t)(packet_id >> 8);
    *p++ = (uint8_t)packet_id;
    p += put_string(p, c->cfg.subscribe_topic);
    *p++ = (uint8_t)c->cfg.subscribe_qos;
    return (size_t)(p - c->out);
}

/* ---- Writing and reading -------------------------------------------------------------------- */

/* esp-mqtt's mqtt_write_data: all of it within network_timeout_ms; success restarts the
 * keepalive period. 0 or -1 (the connection is to be given up; s->why says why). */
static int write_packet(struct session* s, const uint8_t* buf, size_t len, const char* what) {
    int r = lwipsim_tls_write(s->tls, buf, len, (uint32_t)s->c->cfg.network_timeout_ms);
    if (r == (int)len) {
        s->keepalive_tick = now_ms();
        return 0;
    }
    snprintf(s->why, sizeof s->why, "writing %s failed: %s", what,
             r == LWIPSIM_TLS_TIMEOUT ? "timeout" : "error");
    return -1;
}

/* Waits up to timeout_ms for bytes into the in buffer: 0 (*got says whether any came) or -1. */
static int read_some(struct session* s, uint64_t timeout_ms, int* got) {
    *got = 0;
    int r = lwipsim_tls_read(s->tls, s->c->in + s->in_len, s->c->in_cap - s->in_len,
                             (uint32_t)timeout_ms);
    if (r > 0) {
        s->in_len += (size_t)r;
        *got = 1;
        return 0;
    }
    if (r == LWIPSIM_TLS_TIMEOUT)
        return 0;
    return fail(s, r == 0 ? "read: peer closed" : "read: error");
}

/* The next whole packet in the in buffer: 1 (type, body, body_len set), 0 (incomplete), -1. */
static int next_packet(struct session* s, uint8_t* type, const uint8_t** body, size_t* body_len) {
    const uint8_t* in = s->c->in;
    size_t remaining = 0, mult = 1, i = 1;
    for (;; ++i) {
        if (i >= s->in_len)
            return 0;
        remaining += (size_t)(in[i] & 0x7f) * mult;
        mult *= 128;
        if ((in[i] & 0x80) == 0)
            break;
        if (i == 4)
            return fail(s, "malformed Remaining Length");
    }
    if (i + 1 + remaining > s->c->in_cap)
        return fail(s, "a packet larger than the receive buffer (buffer_size)");
    if (i + 1 + remaining > s->in_len)
        return 0;
    *type = in[0];
    *body = in + i + 1;
    *body_len = remaining;
    return 1;
}

/* Drops the packet next_packet returned from the in buffer. */
static void consume(struct session* s, const uint8_t* body, size_t body_len) {
    size_t used = (size_t)(body - s->c->in) + body_len;
    memmove(s->c->in, s->c->in + used, s->in_len - used);
    s->in_len -= used;
}

/* ---- The outbox (QoS 1) --------------------------------------------------------------------- */

static int id_in_use(const struct client* c, uint16_t id) {
    for (const struct outbox_item* it = c->outbox; it != NULL; it = it->next)
        if (it->connection == c->connection && it->packet_id == id)
            return 1;
    return 0;
}

static uint16_t next_packet_id(struct session* s) {
    do {
        ++s->last_packet_id;
    } while (s->last_packet_id == 0 || id_in_use(s->c, s->last_packet_id));
    return s->last_packet_id;
}

/* outbox_enqueue: NULL when the heap has no room (the message is still sent, never resent). */
static struct outbox_item* outbox_store(struct client* c, uint16_t id, size_t len) {
    struct outbox_item* item = pvPortMalloc(sizeof *item);
    uint8_t* copy = item != NULL ? pvPortMalloc(len) : NULL;
    if (copy == NULL) {
        vPortFree(item);
        return NULL;
    }
    memcpy(copy, c->out, len);
    const uint64_t now = now_ms(); /* until the first write completes */
    *item = (struct outbox_item){c->outbox, copy, len, c->connection, id, now, now};
    c->outbox = item;
    return item;
}

static void outbox_delete(struct client* c, struct outbox_item* gone) {
    for (struct outbox_item** p = &c->outbox; *p != NULL; p = &(*p)->next) {
        if (*p == gone) {
            *p = gone->next;
            vPortFree(gone->message);
            vPortFree(gone);
            return;
        }
    }
}

static void outbox_delete_expired(struct client* c, uint64_t now) {
    struct outbox_item* it = c->outbox;
    while (it != NULL) {
        struct outbox_item* next = it->next;
        if (now - it->tick > OUTBOX_EXPIRY_MS)
            outbox_delete(c, it);
        it = next;
    }
}

/* Resends this connection's least recently sent item once it is older than RESEND_AGE_MS. */
static int resend_due(struct session* s) {
    struct outbox_item* oldest = NULL;
    for (struct outbox_item* it = s->c->outbox; it != NULL; it = it->next) {
        if (it->connection == s->c->connection &&
            (oldest == NULL || it->last_sent < oldest->last_sent))
            oldest = it;
    }
    if (oldest == NULL || now_ms() - oldest->last_sent <= RESEND_AGE_MS)
        return 0;
    oldest->message[0] |= 0x08; /* DUP (3.3.1.1) */
    if (write_packet(s, oldest->message, oldest->len, "PUBLISH resend") != 0)
        return -1;
    oldest->last_sent = now_ms();
    return 0;
}

/* ---- The session ---------------------------------------------------------------------------- */

static int publish(struct session* s) {
    struct client* c = s->c;
    uint16_t id = c->cfg.publish_qos > 0 ? next_packet_id(s) : 0;
    size_t len = encode_publish(c, id);
    if (len == 0)
        return fail(s, "PUBLISH larger than the send buffer (out_buffer_size)");
    struct outbox_item* item = id != 0 ? outbox_store(c, id, len) : NULL;
    if (write_packet(s, c->out, len, "PUBLISH") != 0)
        return -1;
    if (item != NULL)
        item->tick = item->last_sent = now_ms();
    lwipsim_event("mqtt_published", NULL);
    return 0;
}

/* Handles every whole packet that arrived (esp-mqtt's mqtt_process_receive). */
static int handle_packets(struct session* s) {
    uint8_t type;
    const uint8_t* body;
    size_t len;
    int r;
    while ((r = next_packet(s, &type, &body, &len)) == 1) {
        /* PUBACK's packet id, or PUBLISH's topic length: the first two bytes (big endian) */
        const uint16_t first16 = len >= 2 ? (uint16_t)(body[0] << 8 | body[1]) : 0;
        switch (type >> 4) {
        case 3: { /* PUBLISH from a subscription: QoS 1 is acknowledged */
            const unsigned qos = (type >> 1) & 3;
            if (qos > 1)
                return fail(s, "QoS 2 PUBLISH: this client subscribes at QoS <= 1");
            lwipsim_event("mqtt_received", NULL);
            if (qos == 1) {
                size_t topic_len = first16;
                if (len < 2 + topic_len + 2)
                    return fail(s, "malformed PUBLISH");
                uint8_t ack[4] = {0x40, 0x02, body[2 + topic_len], body[3 + topic_len]};
                consume(s, body, len);
                if (write_packet(s, ack, sizeof ack, "PUBACK") != 0)
                    return -1;
                continue;
            }
            break;
        }
        case 4: /* PUBACK: the outbox item is done (unknown ids are ignored) */
            for (struct outbox_item* it = s->c->outbox; it != NULL; it = it->next) {
                if (it->connection == s->c->connection && it->packet_id == first16) {
                    outbox_delete(s->c, it);
                    break;
                }
            }
            break;
        case 13: /* PINGRESP */
            s->wait_for_ping_resp = 0;
            break;
        case 9:  /* SUBACK */
        case 11: /* UNSUBACK */
            break;
        case 2:
            return fail(s, "second CONNACK on a connected session");
        default:
            return fail(s, "unexpected packet type from the server");
        }
        consume(s, body, len);
    }
    return r;
}

/* esp-mqtt's keepalive check (see the top of this file). */
static int keepalive_check(struct session* s) {
    const uint64_t half_ms = (uint64_t)s->c->cfg.keepalive_s * 1000 / 2;
    if (s->c->cfg.keepalive_s == 0 || now_ms() - s->keepalive_tick <= half_ms)
        return 0;
    if (s->wait_for_ping_resp) {
        lwipsim_event("ping_timeout", NULL);
        return fail(s, "No PINGRESP more than keepalive/2 after the last write");
    }
    static const uint8_t pingreq[] = {0xc0, 0x00};
    if (write_packet(s, pingreq, sizeof pingreq, "PINGREQ") != 0)
        return -1;
    s->wait_for_ping_resp = 1;
    return 0;
}

/* CONNECT, then CONNACK within network_timeout_ms; subscribes when configured. 0: accepted. */
static int mqtt_connect(struct session* s) {
    struct client* c = s->c;
    size_t len = encode_connect(c);
    if (len == 0)
        return fail(s, "CONNECT larger than the send buffer (out_buffer_size)");
    if (write_packet(s, c->out, len, "CONNECT") != 0)
        return -1;
    const uint64_t started = now_ms();
    const uint64_t timeout = (uint64_t)c->cfg.network_timeout_ms;
    for (;;) {
        uint8_t type;
        const uint8_t* body;
        size_t body_len;
        int r = next_packet(s, &type, &body, &body_len);
        if (r < 0)
            return -1;
        if (r == 1) {
            if (type != 0x20 || body_len != 2)
                return fail(s, "expected CONNACK");
            if (body[1] != 0) {
                snprintf(s->why, sizeof s->why, "CONNACK refused, return code %u", body[1]);
                return -1;
            }
            consume(s, body, body_len);
            break;
        }
        const uint64_t waited = now_ms() - started;
        if (waited >= timeout)
            return fail(s, "no CONNACK within network_timeout_ms");
        int got;
        if (read_some(s, timeout - waited, &got) != 0)
            return -1;
    }
    s->next_publish = now_ms() + (uint64_t)c->cfg.publish_interval_ms;
    char detail[48];
    snprintf(detail, sizeof detail, "free_heap=%zu", lwipsim_heap_free());
    lwipsim_event("mqtt_connected", detail);
    if (c->cfg.subscribe_topic != NULL) { /* from the CONNECTED event, before the loop */
        size_t n = encode_subscribe(c, next_packet_id(s));
        if (n == 0)
            return fail(s, "SUBSCRIBE larger than the send buffer");
        if (write_packet(s, c->out, n, "SUBSCRIBE") != 0)
            return -1;
    }
    return 0;
}

/* The client task's CONNECTED loop, until the connection fails (returns with s->why set). */
static void run_connected(struct session* s) {
    const int publishing = s->c->cfg.publish_interval_ms > 0;
    const uint64_t interval = (uint64_t)s->c->cfg.publish_interval_ms;
    int polling = 0;
    uint64_t poll_end = 0;
    for (;;) {
        if (!polling) { /* one iteration of esp_mqtt_task's CONNECTED branch */
            if (handle_packets(s) != 0)
                return;
            outbox_delete_expired(s->c, now_ms());
            if (resend_due(s) != 0 || keepalive_check(s) != 0)
                return;
            poll_end = now_ms() + POLL_READ_TIMEOUT_MS;
            polling = 1;
        }
        const uint64_t now = now_ms();
        if (publishing && now >= s->next_publish) { /* the application's publish schedule */
            s->next_publish += interval;
            if (s->next_publish <= now)
                s->next_publish = now + interval; /* no catch-up burst */
            if (publish(s) != 0)
                return;
            continue;
        }
        if (now >= poll_end) {
            polling = 0;
            continue;
        }
        uint64_t wake = poll_end;
        if (publishing && s->next_publish < wake)
            wake = s->next_publish;
        int got;
        if (read_some(s, wake - now, &got) != 0)
            return;
        if (got)
            polling = 0; /* bytes end the poll: the next iteration handles them */
    }
}

/* One connection: esp-tls connect, MQTT session, destroy. */
static void connect_and_run(struct client* c) {
    lwipsim_tls* tls = lwipsim_tls_connect(NULL); /* the run's broker, esp-tls semantics */
    if (tls == NULL) {
        if (lwipsim_now_ms() >= lwipsim_end_ms())
            return; /* cut by the run's end, not a failure of the device */
        ESP_LOGW(TAG, "connect failed: %s", lwipsim_tls_last_error());
        lwipsim_event("connect_failed", lwipsim_tls_last_error());
        return;
    }
    ++c->connection;
    struct session s = {.c = c, .tls = tls};
    if (mqtt_connect(&s) != 0) {
        ESP_LOGW(TAG, "MQTT connect failed: %s", s.why);
        lwipsim_event("mqtt_connect_failed", s.why);
    } else {
        ESP_LOGI(TAG, "connected, free heap %zu", lwipsim_heap_free());
        run_connected(&s);
        ESP_LOGW(TAG, "disconnected: %s", s.why);
        lwipsim_event("mqtt_disconnected", s.why);
    }
    lwipsim_tls_destroy(tls); /* esp_tls_conn_destroy: no close_notify, SO_LINGER applies */
}

static int read_config(const lwipsim_args* args, struct config* cfg) {
    cfg->client_id = lwipsim_arg_str(args, "client_id", "lwipsim-device");
    cfg->topic = lwipsim_arg_str(args, "topic", "lwipsim/telemetry");
    cfg->subscribe_topic = lwipsim_arg_str(args, "subscribe_topic", NULL);
    cfg->keepalive_s = lwipsim_arg_int(args, "keepalive_s", 120);
    cfg->publish_interval_ms = lwipsim_arg_int(args, "publish_interval_ms", 0);
    cfg->publish_size = lwipsim_arg_int(args, "publish_size", 64);
    cfg->publish_qos = lwipsim_arg_int(args, "publish_qos", 0);
    cfg->subscribe_qos = lwipsim_arg_int(args, "subscribe_qos", 0);
    cfg->reconnect_delay_ms = lwipsim_arg_int(args, "reconnect_delay_ms", 10000);
    cfg->network_timeout_ms = lwipsim_arg_int(args, "network_timeout_ms", 10000);
    cfg->buffer_size = lwipsim_arg_int(args, "buffer_size", 1024);
    cfg->out_buffer_size = lwipsim_arg_int(args, "out_buffer_size", 0);
    if (cfg->out_buffer_size == 0)
        cfg->out_buffer_size = cfg->buffer_size;
    if (strlen(cfg->client_id) > 23 || cfg->keepalive_s < 0 || cfg->keepalive_s > 65535 ||
        cfg->publish_interval_ms < 0 || cfg->publish_size < 0 || cfg->publish_qos < 0 ||
        cfg->publish_qos > 1 || cfg->subscribe_qos < 0 || cfg->subscribe_qos > 1 ||
        cfg->reconnect_delay_ms < 0 || cfg->network_timeout_ms <= 0 || cfg->buffer_size < 16 ||
        cfg->out_buffer_size < 16) {
        ESP_LOGE(TAG, "bad app.args (client_id 1..23 bytes, keepalive_s 0..65535, QoS 0 or 1, "
                      "timeouts and sizes positive, buffers at least 16 bytes)");
        return -1;
    }
    return 0;
}

int lwipsim_program_main(const lwipsim_args* args) {
    struct client c = {0};
    if (read_config(args, &c.cfg) != 0)
        return 2;
    /* esp_mqtt_client_init: both buffers for the client's whole life. */
    c.in_cap = (size_t)c.cfg.buffer_size;
    c.out_cap = (size_t)c.cfg.out_buffer_size;
    c.in = pvPortMalloc(c.in_cap);
    c.out = c.in != NULL ? pvPortMalloc(c.out_cap) : NULL;
    if (c.out == NULL) {
        ESP_LOGE(TAG, "no device heap for the client's buffers");
        lwipsim_event("client_init_failed", NULL);
        vPortFree(c.in);
        return 0; /* as esp_mqtt_client_init returning NULL: the device runs on, offline */
    }
    for (;;) {
        connect_and_run(&c);
        /* esp-mqtt counts reconnect_timeout_ms in milliseconds, not in 10 ms ticks. */
        lwipsim_sleep_ms((uint32_t)c.cfg.reconnect_delay_ms);
    }
}
