// SPDX-License-Identifier: MIT
#include "maintenance_p.h"

#include "clock_p.h"
#include "logging_p.h"

#include <QtGlobal>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace mvent {

namespace {

struct Entry
{
    Maintenance::Task task;
    int fd = -1; // watched descriptor, or -1 for a periodic task
};

struct State
{
    std::mutex mutex;    // protects the members below
    std::mutex runMutex; // held while tasks run, so remove() can wait for them
    std::map<int, Entry> entries;
    std::thread thread;
    int control = -1;       // eventfd that makes the thread rebuild its poll set or end
    quint64 generation = 0; // incremented to end the thread, which compares it with its start value
    int nextId = 1;
};

State &state()
{
    // Never destroyed: a task removed during static destruction still finds it.
    static State *instance = new State;
    return *instance;
}

void wakeThread(State &shared)
{
    const quint64 increment = 1;
    [[maybe_unused]] const ssize_t written = ::write(shared.control, &increment, sizeof increment);
}

// Runs the entries in ids that are still registered, holding runMutex.
void runEntries(State &shared, const std::vector<int> &ids)
{
    std::lock_guard running(shared.runMutex);
    for (const int id : ids) {
        Maintenance::Task task;
        {
            std::lock_guard lock(shared.mutex);
            const auto found = shared.entries.find(id);
            if (found == shared.entries.end()) {
                continue;
            }
            task = found->second.task;
        }
        task();
    }
}

void run(quint64 generation, int control)
{
    State &shared = state();
    const qint64 intervalNs = qint64(Maintenance::IntervalMs) * 1000000;
    qint64 nextTickNs = monotonicNs() + intervalNs;
    std::vector<pollfd> descriptors;
    std::vector<int> watchIds;
    for (;;) {
        descriptors.assign(1, pollfd{control, POLLIN, 0});
        watchIds.assign(1, 0);
        {
            std::lock_guard lock(shared.mutex);
            if (shared.generation != generation) {
                return;
            }
            for (const auto &[id, entry] : shared.entries) {
                if (entry.fd >= 0) {
                    descriptors.push_back({entry.fd, POLLIN, 0});
                    watchIds.push_back(id);
                }
            }
        }
        const qint64 waitNs = qMax<qint64>(nextTickNs - monotonicNs(), 0);
        const int ready = ::poll(descriptors.data(), nfds_t(descriptors.size()),
                                 int((waitNs + 999999) / 1000000));
        if (ready < 0 && errno != EINTR) {
            qCWarning(lcPool, "the maintenance thread's poll() failed: %s", std::strerror(errno));
        }

        std::vector<int> due;
        if (ready > 0) {
            if (descriptors[0].revents & POLLIN) {
                quint64 count = 0;
                [[maybe_unused]] const ssize_t got = ::read(control, &count, sizeof count);
            }
            for (size_t i = 1; i < descriptors.size(); ++i) {
                if (descriptors[i].revents) {
                    due.push_back(watchIds[i]);
                }
            }
        }
        const qint64 now = monotonicNs();
        if (now >= nextTickNs) {
            // After a long stall, tick once and keep the rhythm from now on.
            nextTickNs = now - nextTickNs > intervalNs ? now + intervalNs : nextTickNs + intervalNs;
            std::lock_guard lock(shared.mutex);
            for (const auto &[id, entry] : shared.entries) {
                if (entry.fd < 0) {
                    due.push_back(id);
                }
            }
        }
        if (!due.empty()) {
            runEntries(shared, due);
        }
    }
}

int addEntry(Entry entry)
{
    State &shared = state();
    std::lock_guard lock(shared.mutex);
    const int id = shared.nextId++;
    shared.entries.emplace(id, std::move(entry));
    if (!shared.thread.joinable()) {
        if (shared.control < 0) {
            shared.control = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (shared.control < 0) {
                qFatal("creating the eventfd of the mvent maintenance thread failed: %s",
                       std::strerror(errno));
            }
        }
        shared.thread = std::thread(run, shared.generation, shared.control);
    } else {
        wakeThread(shared);
    }
    return id;
}

} // namespace

int Maintenance::add(Task task)
{
    return addEntry({std::move(task), -1});
}

int Maintenance::addWatch(int fd, Task onReadable)
{
    return addEntry({std::move(onReadable), fd});
}

void Maintenance::setWatchDescriptor(int id, int fd)
{
    State &shared = state();
    std::lock_guard lock(shared.mutex);
    const auto found = shared.entries.find(id);
    if (found != shared.entries.end() && found->second.fd >= 0) {
        found->second.fd = fd;
        wakeThread(shared);
    }
}

void Maintenance::remove(int id)
{
    State &shared = state();
    std::thread finished;
    {
        // Taking runMutex first waits for a call of this entry that is running now.
        std::lock_guard running(shared.runMutex);
        std::lock_guard lock(shared.mutex);
        const auto found = shared.entries.find(id);
        if (found == shared.entries.end()) {
            return;
        }
        const bool watched = found->second.fd >= 0;
        shared.entries.erase(found);
        if (!shared.entries.empty() || !shared.thread.joinable()) {
            // The thread may still poll the removed descriptor until it rebuilds its set on waking.
            if (watched) {
                wakeThread(shared);
            }
            return;
        }
        ++shared.generation;
        wakeThread(shared);
        finished = std::move(shared.thread);
    }
    finished.join();
}

} // namespace mvent
