// SPDX-License-Identifier: MIT
#pragma once

#include "pool_p.h"

#include <QMutex>

#include <atomic>

namespace mvent {

// The error()/errorString() pair of a public class, safe to set from any thread. Success on the
// hot path costs one relaxed load when no error is pending.
class ErrorState
{
public:
    // Fails with NotAttached, naming why the last open failed, if it did.
    bool failNotAttached(const QString &poolName) const
    {
        QString message = QStringLiteral("pool '%1' is not attached").arg(poolName);
        QMutexLocker locker(&m_mutex);
        if (!m_openFailure.isEmpty()) {
            message += QStringLiteral(" (opening it failed: %1)").arg(m_openFailure);
        }
        m_error = SharedMemoryPool::NotAttached;
        m_message = message;
        m_pending.store(true, std::memory_order_relaxed);
        return false;
    }

    // Records why opening failed, for failNotAttached(); an empty reason clears it.
    void setOpenFailure(const QString &reason) const
    {
        QMutexLocker locker(&m_mutex);
        m_openFailure = reason;
    }

    bool fail(const PoolError &failure) const
    {
        QMutexLocker locker(&m_mutex);
        m_error = failure.code;
        m_message = failure.message;
        m_pending.store(true, std::memory_order_relaxed);
        return false;
    }

    void succeed() const
    {
        if (m_pending.load(std::memory_order_relaxed)) {
            QMutexLocker locker(&m_mutex);
            m_error = SharedMemoryPool::NoError;
            m_message.clear();
            m_pending.store(false, std::memory_order_relaxed);
        }
    }

    SharedMemoryPool::Error error() const
    {
        QMutexLocker locker(&m_mutex);
        return m_error;
    }

    QString errorString() const
    {
        QMutexLocker locker(&m_mutex);
        return m_message;
    }

private:
    mutable QMutex m_mutex;
    mutable std::atomic<bool> m_pending = false;
    mutable SharedMemoryPool::Error m_error = SharedMemoryPool::NoError;
    mutable QString m_message;
    mutable QString m_openFailure;
};

} // namespace mvent
