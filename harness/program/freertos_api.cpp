// The FreeRTOS-style subset of include/lwipsim/freertos.h on simulated threads and the clock's
// primitives. Kernel objects are charged to the device heap (subsystem app) with ESP32-like
// sizes, so a program's tasks and queues show in its heap as they would on the device.

#include "lwipsim/freertos.h"

#include "harness/program/program_run.h"
#include "sim/clock/sync.h"
#include "sim/heap/device_heap.h"

#include <cstring>
#include <deque>
#include <list>
#include <optional>
#include <vector>

using lwipsim::clock::Scheduler;
using lwipsim::clock::Semaphore;
using lwipsim::clock::SimTime;
using lwipsim::program::ProgramRun;

namespace {

// Approximate sizes of the ESP32's kernel objects (ESP-IDF 4.4, 32-bit): a task's control block
// and a queue's header. The stack a task asks for is what dominates.
constexpr size_t kTaskControlBlock = 344;
constexpr size_t kQueueHeader = 84;
constexpr size_t kEventGroupBytes = 32;
constexpr EventBits_t kEventBitsMask = 0x00ffffff; // the top 8 bits are the kernel's

std::optional<SimTime> deadline_after(TickType_t ticks) {
    if (ticks == portMAX_DELAY)
        return std::nullopt;
    return Scheduler::current().now() +
           lwipsim::clock::from_ms(int64_t{ticks} * portTICK_PERIOD_MS);
}

// The object's share of the device heap; nullptr when the budget is exhausted.
void* charge(size_t bytes) {
    return ProgramRun::current().allocate(bytes);
}

} // namespace

struct lwipsim_task {
    std::string name;
    void* heap_block = nullptr;
};

struct lwipsim_sem {
    Semaphore sem;
    unsigned max;
    bool is_mutex;
    TaskHandle_t holder = nullptr;
    void* heap_block;
};

struct lwipsim_queue {
    size_t item_size;
    Semaphore slots, items;
    std::deque<std::vector<unsigned char>> queue;
    void* heap_block;
};

struct lwipsim_event_group {
    EventBits_t bits = 0;
    std::list<Semaphore*> waiters; ///< each waiting task's own wake-up
    void* heap_block;
};

namespace {
thread_local TaskHandle_t t_task = nullptr; // every simulated thread is an OS thread of its own
}

extern "C" {

BaseType_t xTaskCreate(TaskFunction_t fn, const char* name, uint32_t stack_depth, void* arg,
                       UBaseType_t priority, TaskHandle_t* created) {
    auto& run = ProgramRun::current();
    void* block = charge(kTaskControlBlock + stack_depth);
    if (block == nullptr)
        return pdFAIL; // errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY on the device
    auto* task = new lwipsim_task{name != nullptr ? name : "task", block};
    if (created != nullptr)
        *created = task;
    run.spawn(task->name, static_cast<int>(priority), [task, fn, arg, &run] {
        t_task = task;
        fn(arg);
        // ESP-IDF aborts when a task function returns; here it ends the task like vTaskDelete.
        run.release(task->heap_block);
        task->heap_block = nullptr;
    });
    return pdPASS;
}

BaseType_t xTaskCreatePinnedToCore(TaskFunction_t fn, const char* name, uint32_t stack_depth,
                                   void* arg, UBaseType_t priority, TaskHandle_t* created,
                                   BaseType_t) {
    return xTaskCreate(fn, name, stack_depth, arg, priority, created);
}

void vTaskDelete(TaskHandle_t task) {
    auto& run = ProgramRun::current();
    if (task != nullptr && task != t_task) {
        run.fail("vTaskDelete of another task is not supported (only vTaskDelete(NULL))");
        return;
    }
    if (t_task != nullptr) {
        run.release(t_task->heap_block);
        t_task->heap_block = nullptr;
    }
    auto& s = Scheduler::current();
    run.mark_deleted(s.self());
    static const std::string kWhy = "vTaskDelete(NULL)";
    for (;;) // a deleted task never runs again
        s.block({"deleted task", &kWhy, nullptr}, std::nullopt);
}

void vTaskDelay(TickType_t ticks) {
    Scheduler::current().sleep_for(lwipsim::clock::from_ms(int64_t{ticks} * portTICK_PERIOD_MS));
}

TickType_t xTaskGetTickCount(void) {
    return static_cast<TickType_t>(lwipsim_now_ms() / portTICK_PERIOD_MS);
}

void vTaskDelayUntil(TickType_t* previous_wake, TickType_t increment) {
    *previous_wake += increment;
    const TickType_t now = xTaskGetTickCount();
    // Tick arithmetic wraps as on the device.
    const auto ahead = static_cast<int32_t>(*previous_wake - now);
    if (ahead > 0)
        vTaskDelay(static_cast<TickType_t>(ahead));
}

TaskHandle_t xTaskGetCurrentTaskHandle(void) {
    return t_task;
}

static SemaphoreHandle_t make_sem(unsigned max, unsigned initial, bool is_mutex) {
    void* block = charge(kQueueHeader);
    if (block == nullptr)
        return nullptr;
    return new lwipsim_sem{Semaphore(initial, is_mutex ? "mutex" : "semaphore"), max, is_mutex,
                           nullptr, block};
}

SemaphoreHandle_t xSemaphoreCreateBinary(void) {
    return make_sem(1, 0, false);
}

SemaphoreHandle_t xSemaphoreCreateCounting(UBaseType_t max_count, UBaseType_t initial_count) {
    if (max_count == 0 || initial_count > max_count)
        return nullptr;
    return make_sem(max_count, initial_count, false);
}

SemaphoreHandle_t xSemaphoreCreateMutex(void) {
    return make_sem(1, 1, true);
}

BaseType_t xSemaphoreTake(SemaphoreHandle_t sem, TickType_t ticks) {
    if (!sem->sem.wait(deadline_after(ticks)))
        return pdFALSE;
    if (sem->is_mutex)
        sem->holder = t_task;
    return pdTRUE;
}

BaseType_t xSemaphoreGive(SemaphoreHandle_t sem) {
    if (sem->is_mutex && sem->holder != t_task)
        return pdFALSE; // only the holder gives a mutex back
    if (sem->sem.count() >= sem->max)
        return pdFALSE;
    sem->holder = nullptr;
    sem->sem.signal();
    return pdTRUE;
}

UBaseType_t uxSemaphoreGetCount(SemaphoreHandle_t sem) {
    return sem->sem.count();
}

void vSemaphoreDelete(SemaphoreHandle_t sem) {
    if (sem == nullptr)
        return;
    ProgramRun::current().release(sem->heap_block);
    delete sem;
}

QueueHandle_t xQueueCreate(UBaseType_t length, UBaseType_t item_size) {
    if (length == 0)
        return nullptr;
    void* block = charge(kQueueHeader + size_t{length} * item_size);
    if (block == nullptr)
        return nullptr;
    return new lwipsim_queue{
        item_size, Semaphore(length, "queue space"), Semaphore(0, "queue items"), {}, block};
}

BaseType_t xQueueSend(QueueHandle_t q, const void* item, TickType_t ticks) {
    if (!q->slots.wait(deadline_after(ticks)))
        return errQUEUE_FULL;
    const auto* bytes = static_cast<const unsigned char*>(item);
    q->queue.emplace_back(bytes, bytes + q->item_size);
    q->items.signal();
    return pdPASS;
}

BaseType_t xQueueReceive(QueueHandle_t q, void* buffer, TickType_t ticks) {
    if (!q->items.wait(deadline_after(ticks)))
        return pdFALSE;
    std::memcpy(buffer, q->queue.front().data(), q->item_size);
    q->queue.pop_front();
    q->slots.signal();
    return pdTRUE;
}

UBaseType_t uxQueueMessagesWaiting(QueueHandle_t q) {
    return static_cast<UBaseType_t>(q->queue.size());
}

void vQueueDelete(QueueHandle_t q) {
    if (q == nullptr)
        return;
    ProgramRun::current().release(q->heap_block);
    delete q;
}

EventGroupHandle_t xEventGroupCreate(void) {
    void* block = charge(kEventGroupBytes);
    if (block == nullptr)
        return nullptr;
    return new lwipsim_event_group{0, {}, block};
}

EventBits_t xEventGroupSetBits(EventGroupHandle_t g, EventBits_t bits) {
    g->bits |= bits & kEventBitsMask;
    const EventBits_t result = g->bits;
    // Every waiter looks again (in the order they began to wait); each wakes at most once.
    auto waiters = std::move(g->waiters);
    g->waiters.clear();
    for (Semaphore* w : waiters)
        w->signal();
    return result;
}

EventBits_t xEventGroupClearBits(EventGroupHandle_t g, EventBits_t bits) {
    const EventBits_t before = g->bits;
    g->bits &= ~bits;
    return before;
}

EventBits_t xEventGroupGetBits(EventGroupHandle_t g) {
    return g->bits;
}

EventBits_t xEventGroupWaitBits(EventGroupHandle_t g, EventBits_t bits, BaseType_t clear_on_exit,
                                BaseType_t wait_for_all, TickType_t ticks) {
    const auto deadline = deadline_after(ticks);
    auto satisfied = [&] {
        return wait_for_all ? (g->bits & bits) == bits : (g->bits & bits) != 0;
    };
    while (!satisfied()) {
        Semaphore wake(0, "event group bits");
        g->waiters.push_back(&wake);
        if (!wake.wait(deadline)) {
            g->waiters.remove(&wake);
            return g->bits; // timed out: the bits as they are
        }
    }
    const EventBits_t result = g->bits;
    if (clear_on_exit)
        g->bits &= ~bits;
    return result;
}

void vEventGroupDelete(EventGroupHandle_t g) {
    if (g == nullptr)
        return;
    ProgramRun::current().release(g->heap_block);
    delete g;
}

void* pvPortMalloc(size_t size) {
    return lwipsim_malloc(size);
}

void vPortFree(void* ptr) {
    lwipsim_free(ptr);
}

size_t xPortGetFreeHeapSize(void) {
    return lwipsim_heap_free();
}

uint32_t esp_get_free_heap_size(void) {
    return static_cast<uint32_t>(lwipsim_heap_free());
}

} // extern "C"
