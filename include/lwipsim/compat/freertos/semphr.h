/* ESP-IDF include name for lwipsim's FreeRTOS subset (include/lwipsim/freertos.h). */
#include "lwipsim/freertos.h"
