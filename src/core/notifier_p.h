// SPDX-License-Identifier: MIT
#pragma once

#include "doorbell_p.h"
#include "eventlog_p.h"
#include "mvent_core_export.h"

#include <QObject>

#include <atomic>
#include <functional>
#include <thread>

#include <unistd.h>

class QSocketNotifier;

namespace mvent {

class Pool;

/*
    Follows the change and event log of a pool on behalf of one process slot and hands every
    new record to a callback, in log order, exactly once.

    The log head, not the wake-up, is the truth: after draining, the notifier announces that
    it sleeps and checks the head once more, and writers ring its doorbell only when they see
    the announcement. So a batch of records costs one wake-up, and a record appended by a
    process that exits at once is still read, because its ring stays counted in the eventfd.

    EventLoopMode watches the doorbell with a QSocketNotifier that is a child of the owner
    object, so the callback runs on the owner's thread after a single wake-up. ThreadMode runs a thread of its own that spins
    for a bounded, adaptive time before it sleeps in poll(), and calls the callback on that
    thread. Every sleep is bounded, so stop() returns within one poll interval at most.
*/
class MVENT_CORE_EXPORT Notifier
{
public:
    enum Mode { EventLoopMode, ThreadMode };

    struct Callbacks
    {
        std::function<void(const LogRecord &record)> record;
        std::function<void(quint64 count)> missed;   // records overwritten before being read
        std::function<void()> destroyed;             // the pool was destroyed
        // Filter whose declined records are neither copied nor passed to record. Outlives the notifier.
        RecordFilter *filter = nullptr;
    };

    // pool must outlive the notifier; the notifier owns the doorbell of pool's slot.
    // In EventLoopMode the socket notifier is a child of owner, so it follows moveToThread().
    Notifier(Pool *pool, Doorbell *doorbell, QObject *owner, Mode mode, Callbacks callbacks);
    ~Notifier();
    Q_DISABLE_COPY_MOVE(Notifier)

    // Starts at the current end of the log: records appended later are delivered.
    void start();
    // Starts at from, for example Pool::attachCursor().
    void start(const EventLog::Cursor &from);
    void stop();
    // Deletes this notifier, at once or, when called from one of its callbacks, after that
    // callback returns. The pool must stay mapped until this call returns.
    void destroyLater();
    // Delivers the pending records now. The maintenance tick queues this call in EventLoopMode.
    void deliverPending();
    // Records appended to the log that this notifier has not read yet.
    quint64 lag() const;

    // Upper bound of the spin before sleeping, in microseconds; 0 disables it. In
    // EventLoopMode the spin holds up the thread's other events for at most this long.
    void setMaxSpinMicroseconds(int microseconds)
    {
        m_maxSpinNs = qint64(qMax(microseconds, 0)) * 1000;
        m_spinBudgetNs = m_maxSpinNs;
    }

private:
    // Returns true while a callback runs on the calling thread, when deleting the notifier
    // would free it under its own stack.
    bool isDeliveringOnThisThread() const;
    // Returns the number of records delivered, stopping early after limit records.
    int drain(int limit);
    void onActivated();
    void threadMain();
    void threadLoop();
    // Spins until a record is appended or the adaptive budget runs out; true if one came.
    bool spinForRecords();
    void noteSleep();
    void noteWakeUp();

    Pool *m_pool;
    Doorbell *m_doorbell;
    QObject *m_owner;
    Mode m_mode;
    Callbacks m_callbacks;
    EventLog::Cursor m_cursor;
    LogRecord m_record; // reused, so that a stream of records reuses the name and value buffers
    QSocketNotifier *m_socketNotifier = nullptr;
    QObject *m_context = nullptr;
    std::thread m_thread;
    std::atomic<bool> m_stopping = false;
    bool m_running = false;
    int m_deliveryDepth = 0;        // nested onActivated() calls on the owner's thread
    bool m_destroyWhenDone = false; // set by destroyLater()
    bool m_continuationQueued = false;
    qint64 m_maxSpinNs = 0;
    qint64 m_spinBudgetNs = 0;
    qint64 m_sleptSinceNs = 0;  // CLOCK_MONOTONIC when the last sleep began, 0 if not tracked
    int m_lastWriterCpu = -1;
    const quint32 m_ownPid = quint32(::getpid());
};

} // namespace mvent
