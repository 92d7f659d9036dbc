/* A FreeRTOS-style subset for device programs (docs/programs.md, "FreeRTOS subset"), mapped onto
 * lwipsim's simulated threads on virtual time, so ESP-IDF-style networking code compiles with
 * few changes. The tick is 10 ms (configTICK_RATE_HZ 100, ESP-IDF's default). Every kernel
 * object is charged to the device heap (subsystem app), as xTaskCreate / xQueueCreate allocate
 * on the device. Calls not listed here are not declared: using one is a compile or load error,
 * never a silent stub. The compat headers (freertos/FreeRTOS.h, freertos/task.h, esp_log.h, ...)
 * all include this file.
 */
#ifndef LWIPSIM_FREERTOS_H
#define LWIPSIM_FREERTOS_H

#include "lwipsim/program.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t BaseType_t;
typedef uint32_t UBaseType_t;
typedef uint32_t TickType_t;
typedef uint32_t EventBits_t;
typedef void (*TaskFunction_t)(void*);
typedef struct lwipsim_task* TaskHandle_t;
typedef struct lwipsim_sem* SemaphoreHandle_t;
typedef struct lwipsim_queue* QueueHandle_t;
typedef struct lwipsim_event_group* EventGroupHandle_t;

#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define pdFAIL pdFALSE
#define pdPASS pdTRUE
#define errQUEUE_FULL ((BaseType_t)0)
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define configTICK_RATE_HZ 100
#define portTICK_PERIOD_MS (1000 / configTICK_RATE_HZ)
#define pdMS_TO_TICKS(ms) ((TickType_t)(((uint64_t)(ms)*configTICK_RATE_HZ) / 1000))
#define tskIDLE_PRIORITY 0
#define tskNO_AFFINITY 0x7fffffff

/* ---- Tasks ---- */
/* Creates a task of `stack_depth` bytes of stack (ESP-IDF counts bytes), charged to the device
 * heap with its control block while the task lives. pdPASS, or pdFAIL when the heap is short. */
BaseType_t xTaskCreate(TaskFunction_t fn, const char* name, uint32_t stack_depth, void* arg,
                       UBaseType_t priority, TaskHandle_t* created);
/* The core is ignored: the simulated device runs one thread at a time. */
BaseType_t xTaskCreatePinnedToCore(TaskFunction_t fn, const char* name, uint32_t stack_depth,
                                   void* arg, UBaseType_t priority, TaskHandle_t* created,
                                   BaseType_t core);
/* Only vTaskDelete(NULL), the calling task ending itself, is supported (anything else fails the
 * run). A task function may also just return. */
void vTaskDelete(TaskHandle_t task);
void vTaskDelay(TickType_t ticks);
void vTaskDelayUntil(TickType_t* previous_wake, TickType_t increment);
TickType_t xTaskGetTickCount(void);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
#define taskYIELD() vTaskDelay(0)

/* ---- Semaphores and mutexes (no priority inheritance) ---- */
SemaphoreHandle_t xSemaphoreCreateBinary(void);
SemaphoreHandle_t xSemaphoreCreateCounting(UBaseType_t max_count, UBaseType_t initial_count);
SemaphoreHandle_t xSemaphoreCreateMutex(void);
BaseType_t xSemaphoreTake(SemaphoreHandle_t sem, TickType_t ticks);
BaseType_t xSemaphoreGive(SemaphoreHandle_t sem);
UBaseType_t uxSemaphoreGetCount(SemaphoreHandle_t sem);
void vSemaphoreDelete(SemaphoreHandle_t sem);

/* ---- Queues (items copied in and out, FIFO) ---- */
QueueHandle_t xQueueCreate(UBaseType_t length, UBaseType_t item_size);
BaseType_t xQueueSend(QueueHandle_t queue, const void* item, TickType_t ticks);
#define xQueueSendToBack xQueueSend
BaseType_t xQueueReceive(QueueHandle_t queue, void* buffer, TickType_t ticks);
UBaseType_t uxQueueMessagesWaiting(QueueHandle_t queue);
void vQueueDelete(QueueHandle_t queue);

/* ---- Event groups (24 usable bits, as on the ESP32) ---- */
EventGroupHandle_t xEventGroupCreate(void);
EventBits_t xEventGroupSetBits(EventGroupHandle_t group, EventBits_t bits);
EventBits_t xEventGroupClearBits(EventGroupHandle_t group, EventBits_t bits);
EventBits_t xEventGroupGetBits(EventGroupHandle_t group);
EventBits_t xEventGroupWaitBits(EventGroupHandle_t group, EventBits_t bits,
                                BaseType_t clear_on_exit, BaseType_t wait_for_all,
                                TickType_t ticks);
void vEventGroupDelete(EventGroupHandle_t group);

/* ---- Heap ---- */
void* pvPortMalloc(size_t size);
void vPortFree(void* ptr);
size_t xPortGetFreeHeapSize(void);
uint32_t esp_get_free_heap_size(void);

/* ---- ESP_LOGx: lines in the run's program.log, stamped with virtual time ---- */
#define ESP_LOGE(tag, ...) lwipsim_log(LWIPSIM_LOG_ERROR, tag, __VA_ARGS__)
#define ESP_LOGW(tag, ...) lwipsim_log(LWIPSIM_LOG_WARN, tag, __VA_ARGS__)
#define ESP_LOGI(tag, ...) lwipsim_log(LWIPSIM_LOG_INFO, tag, __VA_ARGS__)
#define ESP_LOGD(tag, ...) lwipsim_log(LWIPSIM_LOG_DEBUG, tag, __VA_ARGS__)
#define ESP_LOGV(tag, ...) lwipsim_log(LWIPSIM_LOG_VERBOSE, tag, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* LWIPSIM_FREERTOS_H */
