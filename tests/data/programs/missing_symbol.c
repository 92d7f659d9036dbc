/* Calls a FreeRTOS function lwipsim does not provide: loading it must fail with its name. */
#include "lwipsim/program.h"

void* xTimerCreate(const char* name, unsigned period, int reload, void* id, void (*cb)(void*));

int lwipsim_program_main(const lwipsim_args* args) {
    (void)args;
    return xTimerCreate("t", 10, 1, 0, 0) != 0;
}
