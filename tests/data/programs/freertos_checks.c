/* The FreeRTOS subset's semantics on virtual time (tests/scenario/program_check.py). Each
 * check records an event "<name>" whose detail is what was measured; the test compares with
 * what FreeRTOS's documentation says (1 tick = 10 ms here, configTICK_RATE_HZ 100). */
#include "lwipsim/freertos.h"
#include "lwipsim/program.h"

#include <stdio.h>

static QueueHandle_t queue;
static EventGroupHandle_t group;

static void record(const char* name, long long value) {
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    lwipsim_event(name, text);
}

static void producer(void* arg) {
    (void)arg;
    for (int i = 1; i <= 3; ++i) {
        vTaskDelay(5); /* 50 ms */
        xQueueSend(queue, &i, portMAX_DELAY);
    }
    vTaskDelay(10);
    xEventGroupSetBits(group, 0x1); /* at 250 ms from the start of main */
    vTaskDelay(20);
    xEventGroupSetBits(group, 0x2); /* at 450 ms */
}

int lwipsim_program_main(const lwipsim_args* args) {
    (void)args;
    queue = xQueueCreate(2, sizeof(int));
    group = xEventGroupCreate();
    const TickType_t t0 = xTaskGetTickCount();
    xTaskCreate(producer, "producer", 2048, NULL, 6, NULL);
    int sum = 0, item = 0;
    while (xQueueReceive(queue, &item, pdMS_TO_TICKS(100)) == pdTRUE)
        sum += item;
    record("queue_sum", sum); /* 1 + 2 + 3 */
    /* The last item came at 150 ms; the receive after it times out 100 ms later. */
    record("queue_timeout_at_ms", (long long)(xTaskGetTickCount() - t0) * portTICK_PERIOD_MS);
    EventBits_t bits = xEventGroupWaitBits(group, 0x3, pdTRUE, pdTRUE, portMAX_DELAY);
    record("bits_all_at_ms", (long long)(xTaskGetTickCount() - t0) * portTICK_PERIOD_MS);
    record("bits", (long long)bits);
    record("bits_after_clear", (long long)xEventGroupGetBits(group));
    SemaphoreHandle_t counting = xSemaphoreCreateCounting(2, 0);
    record("counting_gives",
           xSemaphoreGive(counting) + xSemaphoreGive(counting) + xSemaphoreGive(counting));
    SemaphoreHandle_t mutex = xSemaphoreCreateMutex();
    const BaseType_t first = xSemaphoreTake(mutex, 0);
    const TickType_t before = xTaskGetTickCount();
    const BaseType_t second = xSemaphoreTake(mutex, 3); /* held: times out after 30 ms */
    record("mutex", first * 10 + second);
    record("mutex_wait_ms", (long long)(xTaskGetTickCount() - before) * portTICK_PERIOD_MS);
    xSemaphoreGive(mutex);
    vSemaphoreDelete(mutex);
    vSemaphoreDelete(counting);
    vQueueDelete(queue);
    vEventGroupDelete(group);
    return 0;
}
