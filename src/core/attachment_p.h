// SPDX-License-Identifier: MIT
#pragma once

#include "doorbell_p.h"
#include "notifier_p.h"
#include "pool_p.h"

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

    // Creates the notifier; needs an attachment opened with a slot. It starts with start().
    void createNotifier(Notifier::Mode mode, Notifier::Callbacks callbacks, int maxSpinMicroseconds);

    // The periodic work of the owner's maintenance timer: heartbeat, sweep of expired entries,
    // reclaim of dead processes' slots every fifth call, and delivery of records whose writer
    // died before it rang. Returns false if the pool was destroyed.
    bool maintain();

    std::unique_ptr<Pool> pool;
    Doorbell doorbell;
    std::unique_ptr<Notifier> notifier;

private:
    int m_ticks = 0;
};

} // namespace mvent
