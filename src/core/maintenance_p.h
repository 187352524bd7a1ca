// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <functional>

namespace mvent {

/*
    The library's service thread, one per process. It runs the periodic upkeep of every open
    attachment once a second and serves the file descriptors registered with addWatch(), such
    as doorbell sockets. It keeps timers out of the user's threads, because a thread with
    a timer arms a kernel timer on every event-loop wait (about 0.3 us per wake-up, measured on
    the benchmark machine). The thread starts with the first task and ends with the last one.
*/
class MVENT_CORE_EXPORT Maintenance
{
public:
    static constexpr int IntervalMs = 1000;
    using Task = std::function<void()>;

    // Runs task on the maintenance thread every IntervalMs until remove(); returns its id.
    static int add(Task task);
    // Runs onReadable on the maintenance thread whenever fd is readable, until remove(). The
    // caller keeps fd open until remove() returns; returns the watch's id.
    static int addWatch(int fd, Task onReadable);
    // Makes watch id poll fd instead of its previous descriptor. Tasks may call it.
    static void setWatchDescriptor(int id, int fd);
    // Removes a task or watch and waits for a running call of it to finish. Tasks must not
    // call it.
    static void remove(int id);
};

} // namespace mvent
