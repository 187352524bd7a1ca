// SPDX-License-Identifier: MIT
#include "attachment_p.h"

#include "maintenance_p.h"
#include "runtimedir_p.h"

namespace mvent {

namespace {
// Upkeep is periodic, so a busy or stuck lock skips it for one tick instead of holding up the
// maintenance thread, which serves every pool of the process, for Options::lockTimeoutMs.
constexpr int MaintenanceLockTimeoutMs = 20;
} // namespace

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

void Attachment::stopBackground()
{
    stopMaintenance();
    // Deletes the notifier now, joining its thread before the pool it reads goes away, or,
    // when a delivery callback ends the attachment, once that callback returns.
    if (notifier) {
        notifier.release()->destroyLater();
    }
}

void Attachment::close()
{
    stopBackground();
    pool.reset();
    doorbell.close();
}

void Attachment::startMaintenance(QObject *context, std::function<void()> logMoved,
                                  std::function<void()> destroyed)
{
    stopMaintenance();
    m_ticks = 0;
    m_lastHead = pool->log()->headPosition();
    m_destroyedReported = false;
    m_maintenanceId = Maintenance::add([this, context, logMoved = std::move(logMoved),
                                        destroyed = std::move(destroyed)] {
        if (!maintain()) {
            if (!m_destroyedReported) {
                m_destroyedReported = true;
                QMetaObject::invokeMethod(context, destroyed, Qt::QueuedConnection);
            }
            return;
        }
        // Only a moved head can leave records unread, so an idle pool wakes no thread.
        const quint64 head = pool->log()->headPosition();
        if (head != m_lastHead) {
            m_lastHead = head;
            QMetaObject::invokeMethod(context, logMoved, Qt::QueuedConnection);
        }
    });
}

void Attachment::stopMaintenance()
{
    if (m_maintenanceId != 0) {
        Maintenance::remove(m_maintenanceId);
        m_maintenanceId = 0;
    }
}

void Attachment::createNotifier(QObject *owner, Notifier::Mode mode, Notifier::Callbacks callbacks,
                                int maxSpinMicroseconds)
{
    notifier = std::make_unique<Notifier>(pool.get(), &doorbell, owner, mode, std::move(callbacks));
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
    doorbell.repair();
    if (pool->hasExpiringEntries()) {
        PoolError ignored;
        if (pool->removeExpired(&ignored, MaintenanceLockTimeoutMs) > 0) {
            pool->processes()->wakeWaiting();
        }
    }
    if (++m_ticks % 5 == 0) {
        pool->reclaimDeadSlots(MaintenanceLockTimeoutMs);
        pool->processes()->dropStaleDoorbells();
    }
    return true;
}

} // namespace mvent
