// A device program that misbehaves on purpose (tests/scenario/program_check.py), as args.mode
// says: crash (a NULL write), hang (waits for a semaphore nobody gives), leak (pvPortMalloc
// without vPortFree), fail (returns 3); anything else returns 0. In C++: the API is C and C++.
#include "lwipsim/freertos.h"
#include "lwipsim/program.h"

#include <cstring>

int lwipsim_program_main(const lwipsim_args* args) {
    const char* mode = lwipsim_arg_str(args, "mode", "");
    ESP_LOGI("misbehave", "mode %s", mode);
    lwipsim_sleep_ms(1500);
    if (std::strcmp(mode, "crash") == 0) {
        volatile int* nowhere = nullptr;
        *nowhere = 1;
    }
    if (std::strcmp(mode, "hang") == 0) {
        SemaphoreHandle_t never = xSemaphoreCreateBinary();
        xSemaphoreTake(never, portMAX_DELAY);
    }
    if (std::strcmp(mode, "leak") == 0) {
        for (int i = 0; i < 3; ++i)
            (void)pvPortMalloc(1000);
        return 0;
    }
    if (std::strcmp(mode, "fail") == 0)
        return 3;
    return 0;
}
