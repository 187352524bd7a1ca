// SPDX-License-Identifier: MIT
#pragma once

#include "doorbell_p.h"
#include "notifier_p.h"
#include "pool_p.h"

#include <QObject>

#include <functional>
#include <memory>

namespace mvent {

/*
    An open pool together with this object's doorbell, process slot and notifier: the part
    that SharedMemoryPool and EventManager share. Not thread-safe; the owner calls it from its
    own thread.
*/
class Attachment
{
public:
    // Opens the pool; with useSlot it also opens a doorbell and claims a process slot.
    bool open(const QString &name, const SharedMemoryPool::Options &options, bool useSlot,
              PoolError *error);
    void close();
    bool isOpen() const { return pool != nullptr; }
    // Stops the maintenance task and the notifier of a destroyed pool. The pool stays mapped,
    // because other threads may still be inside a call on it.
    void stopBackground();

    // Creates the notifier; needs an attachment opened with a slot. It starts with start().
    // owner is the QObject whose thread runs EventLoopMode delivery, also after moveToThread().
    void createNotifier(QObject *owner, Notifier::Mode mode, Notifier::Callbacks callbacks,
                        int maxSpinMicroseconds);

    // Starts the upkeep on the maintenance thread: heartbeat, repair of a removed doorbell
    // socket, sweep of expired entries and reclaim of dead processes' slots every fifth tick.
    // close() stops it.
    // After a tick that finds new log records, logMoved is queued to context's thread so that
    // records whose writer died before ringing get delivered. Once the pool is destroyed,
    // destroyed is queued there instead.
    void startMaintenance(QObject *context, std::function<void()> logMoved,
                          std::function<void()> destroyed);

    std::unique_ptr<Pool> pool;
    Doorbell doorbell;
    std::unique_ptr<Notifier> notifier;

private:
    // Runs one tick on the maintenance thread. Returns false if the pool was destroyed.
    bool maintain();
    void stopMaintenance();

    int m_maintenanceId = 0;
    int m_ticks = 0;
    quint64 m_lastHead = 0;
    bool m_destroyedReported = false;
};

} // namespace mvent
