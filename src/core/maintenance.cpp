// SPDX-License-Identifier: MIT
#include "maintenance_p.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <QtGlobal>

namespace mvent {

namespace {

struct State
{
    std::mutex mutex;            // protects the members below
    std::mutex runMutex;         // held while the tasks run, so remove() can wait for them
    std::condition_variable wake;
    std::map<int, Maintenance::Task> tasks;
    std::thread thread;
    quint64 generation = 0; // incremented to end the thread, which compares it with its start value
    int nextId = 1;
};

State &state()
{
    // Never destroyed: a task removed during static destruction still finds it.
    static State *instance = new State;
    return *instance;
}

void run(quint64 generation)
{
    State &shared = state();
    std::unique_lock lock(shared.mutex);
    for (;;) {
        const auto ended = [&] { return shared.generation != generation; };
        shared.wake.wait_for(lock, std::chrono::milliseconds(Maintenance::IntervalMs), ended);
        if (ended()) {
            return;
        }
        // Copies, so that tasks run without the lock and add() or remove() from other threads
        // do not wait for a slow one longer than needed.
        const std::map<int, Maintenance::Task> tasks = shared.tasks;
        lock.unlock();
        {
            std::lock_guard running(shared.runMutex);
            for (const auto &[id, task] : tasks) {
                std::unique_lock check(shared.mutex);
                const bool present = shared.tasks.count(id) != 0;
                check.unlock();
                if (present) {
                    task();
                }
            }
        }
        lock.lock();
    }
}

} // namespace

int Maintenance::add(Task task)
{
    State &shared = state();
    std::lock_guard lock(shared.mutex);
    const int id = shared.nextId++;
    shared.tasks.emplace(id, std::move(task));
    if (!shared.thread.joinable()) {
        shared.thread = std::thread(run, shared.generation);
    }
    return id;
}

void Maintenance::remove(int id)
{
    State &shared = state();
    std::thread finished;
    {
        // Taking runMutex first waits for a tick that may be calling this task.
        std::lock_guard running(shared.runMutex);
        std::lock_guard lock(shared.mutex);
        shared.tasks.erase(id);
        if (!shared.tasks.empty() || !shared.thread.joinable()) {
            return;
        }
        ++shared.generation;
        shared.wake.notify_all();
        finished = std::move(shared.thread);
    }
    finished.join();
}

} // namespace mvent
