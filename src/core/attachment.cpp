// SPDX-License-Identifier: MIT
#include "attachment_p.h"

#include "runtimedir_p.h"

namespace mvent {

bool Attachment::open(const QString &name, const SharedMemoryPool::Options &options, bool useSlot,
                      PoolError *error)
{
    close();
    // The doorbell lives in the runtime directory, so the name and the directory are checked
    // before it is created.
    if (const QString problem = poolNameProblem(name); !problem.isEmpty()) {
        return error->set(SharedMemoryPool::InvalidName, problem);
    }
    QString message;
    if (!ensureRuntimeDirectory(&message)) {
        return error->set(SharedMemoryPool::PermissionDenied, message);
    }
    if (useSlot && !doorbell.open(&message)) {
        return error->set(SharedMemoryPool::ResourceError, message);
    }
    pool = std::make_unique<Pool>(name, options);
    // With a null doorbell name the engine claims no process slot.
    if (!pool->open(useSlot ? doorbell.name() : QByteArray(), error)) {
        close();
        return false;
    }
    return true;
}

void Attachment::close()
{
    notifier.reset(); // joins a notifier thread before the pool it reads goes away
    pool.reset();
    doorbell.close();
    m_ticks = 0;
}

void Attachment::createNotifier(Notifier::Mode mode, Notifier::Callbacks callbacks,
                                int maxSpinMicroseconds)
{
    notifier = std::make_unique<Notifier>(pool.get(), &doorbell, mode, std::move(callbacks));
    notifier->setMaxSpinMicroseconds(maxSpinMicroseconds);
}

bool Attachment::maintain()
{
    if (!pool) {
        return true;
    }
    if (pool->isDestroyed()) {
        return false;
    }
    pool->heartbeat();
    if (pool->hasExpiringEntries()) {
        PoolError ignored;
        if (pool->removeExpired(&ignored) > 0) {
            pool->processes()->wakeWaiting();
        }
    }
    if (++m_ticks % 5 == 0) {
        pool->reclaimDeadSlots();
    }
    if (notifier) {
        notifier->deliverPending();
    }
    return true;
}

} // namespace mvent
