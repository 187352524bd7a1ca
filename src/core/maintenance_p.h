// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <functional>

namespace mvent {

/*
    The thread that runs the periodic upkeep of every open attachment once a second, one per
    process. It keeps timers out of the user's threads, because a thread with a timer arms a
    kernel timer on every event-loop wait (about 0.3 us per wake-up, measured on the benchmark
    machine). The thread starts with the first task and ends with the last one.
*/
class MVENT_CORE_EXPORT Maintenance
{
public:
    static constexpr int IntervalMs = 1000;
    using Task = std::function<void()>;

    // Runs task on the maintenance thread every IntervalMs until remove(); returns its id.
    static int add(Task task);
    // Removes the task and waits for a running call of it to finish. Tasks must not call it.
    static void remove(int id);
};

} // namespace mvent
