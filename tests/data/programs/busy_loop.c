/* A device program that never lets virtual time move (tests/scenario/program_stall_check.py),
 * after a first 1.5 s sleep, as args.mode says:
 *   spin:  the main thread 'program' loops on a volatile counter without calling anything;
 *   yield: a task 'poller' polls an empty queue with a zero timeout and calls taskYIELD, the
 *          loop FreeRTOS code writes to "wait" for work without a timeout of its own.
 * The stall watchdog must end both runs, naming the thread. */
#include "lwipsim/freertos.h"
#include "lwipsim/program.h"

#include <string.h>

static void poll_forever(void* queue) {
    int item = 0;
    for (;;) {
        if (xQueueReceive((QueueHandle_t)queue, &item, 0) == pdTRUE)
            break;
        taskYIELD();
    }
    vTaskDelete(NULL);
}

int lwipsim_program_main(const lwipsim_args* args) {
    const char* mode = lwipsim_arg_str(args, "mode", "spin");
    ESP_LOGI("busy_loop", "mode %s", mode);
    vTaskDelay(pdMS_TO_TICKS(1500));
    if (strcmp(mode, "yield") == 0) {
        QueueHandle_t queue = xQueueCreate(1, sizeof(int));
        xTaskCreate(poll_forever, "poller", 4096, queue, 5, NULL);
        vTaskDelay(portMAX_DELAY);
        return 0;
    }
    volatile unsigned long spins = 0;
    for (;;)
        ++spins;
}
