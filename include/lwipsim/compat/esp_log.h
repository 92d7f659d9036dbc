/* ESP-IDF include name for ESP_LOGx (include/lwipsim/freertos.h). */
#include "lwipsim/freertos.h"
