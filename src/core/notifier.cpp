// SPDX-License-Identifier: MIT
#include "notifier_p.h"

#include "clock_p.h"
#include "logging_p.h"
#include "pool_p.h"

#include <QCoreApplication>
#include <QPointer>
#include <QSocketNotifier>

#include <poll.h>
#include <unistd.h>
#include <sched.h>

namespace mvent {

namespace {

// Records delivered per event-loop turn, so a flood cannot starve the receiver's other work.
constexpr int EventLoopBatch = 4096;
// Bound of every sleep in ThreadMode; stop() and a lost pool are noticed within it.
constexpr int PollTimeoutMs = 1000;

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

} // namespace

Notifier::Notifier(Pool *pool, Doorbell *doorbell, QObject *owner, Mode mode, Callbacks callbacks)
    : m_pool(pool)
    , m_doorbell(doorbell)
    , m_owner(owner)
    , m_mode(mode)
    , m_callbacks(std::move(callbacks))
{
}

Notifier::~Notifier()
{
    stop();
}

void Notifier::start()
{
    start(m_pool->log()->endCursor());
}

void Notifier::start(const EventLog::Cursor &from)
{
    if (m_running) {
        return;
    }
    m_running = true;
    m_stopping.store(false);
    m_cursor = from;
    if (m_mode == ThreadMode) {
        m_thread = std::thread([this] { threadMain(); });
        return;
    }
    m_context = new QObject(m_owner);
    m_socketNotifier = new QSocketNotifier(m_doorbell->fileDescriptor(), QSocketNotifier::Read,
                                           m_context);
    QObject::connect(m_socketNotifier, &QSocketNotifier::activated, m_context,
                     [this] { onActivated(); });
    onActivated();
}

bool Notifier::isDeliveringOnThisThread() const
{
    if (m_mode == ThreadMode) {
        return m_thread.joinable() && m_thread.get_id() == std::this_thread::get_id();
    }
    return m_deliveryDepth > 0;
}

void Notifier::destroyLater()
{
    if (!isDeliveringOnThisThread()) {
        delete this;
        return;
    }
    m_destroyWhenDone = true;
    stop();
}

void Notifier::stop()
{
    if (!m_running) {
        return;
    }
    m_running = false;
    m_stopping.store(true);
    if (m_thread.joinable()) {
        if (m_thread.get_id() == std::this_thread::get_id()) {
            // A callback on the notifier thread stopped it, and the loop ends when it returns.
            m_thread.detach();
        } else {
            m_doorbell->ringSelf();
            m_thread.join();
        }
    }
    if (m_deliveryDepth > 0 && m_context) {
        // The socket notifier is emitting the signal that led here, so Qt deletes it later.
        // A queued continuation would run before that deletion and call into this notifier,
        // which destroyLater() frees as soon as the callbacks return, so drop it now.
        m_socketNotifier->setEnabled(false);
        QCoreApplication::removePostedEvents(m_context, QEvent::MetaCall);
        m_context->deleteLater();
    } else {
        delete m_context; // also deletes the socket notifier and any queued continuation
    }
    m_context = nullptr;
    m_socketNotifier = nullptr;
    m_continuationQueued = false;
    m_pool->processes()->withdrawWaiting(quint32(m_pool->slotIndex()));
}

int Notifier::drain(int limit)
{
    int delivered = 0;
    LogRecord &record = m_record;
    quint64 missed = 0;
    while (delivered < limit && !m_stopping.load(std::memory_order_relaxed)) {
        const EventLog::ReadResult result = m_pool->log()->read(&m_cursor, &record, &missed,
                                                                m_callbacks.filter);
        if (missed && m_callbacks.missed) {
            m_callbacks.missed(missed);
            if (m_stopping.load(std::memory_order_relaxed)) {
                break; // the callback ended the attachment
            }
        }
        if (result != EventLog::Record) {
            break;
        }
        ++delivered;
        // Only other processes' records tell where the peer runs; this process's own records
        // would always match its own CPU and stop the spin.
        if (record.pid != m_ownPid) {
            m_lastWriterCpu = int(record.cpu);
        }
        if (record.accepted && m_callbacks.record) {
            m_callbacks.record(record);
        }
    }
    return delivered;
}

quint64 Notifier::lag() const
{
    if (!m_running) {
        return 0;
    }
    const quint64 next = m_pool->log()->endCursor().sequence;
    return next > m_cursor.sequence ? next - m_cursor.sequence : 0;
}

void Notifier::deliverPending()
{
    if (m_running && m_mode == EventLoopMode && m_pool->log()->headPosition() != m_cursor.position) {
        m_pool->processes()->withdrawWaiting(quint32(m_pool->slotIndex()));
        onActivated();
    }
}

bool Notifier::spinForRecords()
{
    // Spinning on the writer's own CPU only keeps the writer from running.
    if (m_spinBudgetNs <= 0 || ::sched_getcpu() == m_lastWriterCpu) {
        return false;
    }
    EventLog *log = m_pool->log();
    const qint64 deadline = monotonicNs() + m_spinBudgetNs;
    int iterations = 0;
    bool found = false;
    while (!m_stopping.load(std::memory_order_relaxed)) {
        if (log->headPosition() != m_cursor.position) {
            found = true;
            break;
        }
        cpuRelax();
        if (++iterations % 64 == 0 && monotonicNs() >= deadline) {
            break;
        }
    }
    // The budget halves after each spin that found nothing, so an idle listener soon stops
    // spinning, and returns to the maximum when a spin pays off.
    m_spinBudgetNs = found ? m_maxSpinNs : m_spinBudgetNs / 2;
    if (m_spinBudgetNs < 1000) {
        m_spinBudgetNs = 0;
    }
    return found;
}

void Notifier::noteSleep()
{
    // The length of a sleep matters only where spinning could replace it, so a listener on
    // its writer's CPU skips both clock reads.
    m_sleptSinceNs = m_maxSpinNs > 0 && ::sched_getcpu() != m_lastWriterCpu ? monotonicNs() : 0;
}

void Notifier::noteWakeUp()
{
    // A sleep shorter than the maximum spin means that spinning would have caught the record
    // without a kernel wake-up: spin fully again.
    if (m_sleptSinceNs != 0 && monotonicNs() - m_sleptSinceNs < m_maxSpinNs) {
        m_spinBudgetNs = m_maxSpinNs;
    }
    m_sleptSinceNs = 0;
}

void Notifier::onActivated()
{
    // Counts this call, and deletes the notifier on the way out if a callback asked for it.
    struct DepthGuard
    {
        Notifier *notifier;
        explicit DepthGuard(Notifier *owner) : notifier(owner) { ++notifier->m_deliveryDepth; }
        ~DepthGuard()
        {
            if (--notifier->m_deliveryDepth == 0 && notifier->m_destroyWhenDone) {
                delete notifier;
            }
        }
    } depthGuard(this);
    const quint32 slot = quint32(m_pool->slotIndex());
    m_doorbell->drain();
    noteWakeUp();
    if (m_pool->isDestroyed()) {
        if (m_callbacks.destroyed) {
            m_callbacks.destroyed(); // may delete this notifier
        }
        return;
    }
    // A callback may stop or delete this notifier; its context object tracks that.
    const QPointer<QObject> alive(m_context);
    for (;;) {
        const int delivered = drain(EventLoopBatch);
        if (!alive || !m_running) {
            return;
        }
        if (delivered == EventLoopBatch) {
            if (!m_continuationQueued) {
                m_continuationQueued = true;
                QMetaObject::invokeMethod(m_context, [this] {
                    m_continuationQueued = false;
                    onActivated();
                }, Qt::QueuedConnection);
            }
            return;
        }
        if (spinForRecords()) {
            continue;
        }
        // Announce sleep, then look once more: a writer that appended before it saw the
        // announcement is caught by this check, one that appends after it rings the doorbell.
        m_pool->processes()->announceWaiting(slot);
        if (m_pool->log()->headPosition() == m_cursor.position) {
            noteSleep();
            return;
        }
        m_pool->processes()->withdrawWaiting(slot);
    }
}

void Notifier::threadMain()
{
    threadLoop();
    if (m_destroyWhenDone) {
        delete this; // destroyLater() from a callback detached this thread
    }
}

void Notifier::threadLoop()
{
    const quint32 slot = quint32(m_pool->slotIndex());
    EventLog *log = m_pool->log();
    pollfd descriptor{m_doorbell->fileDescriptor(), POLLIN, 0};

    while (!m_stopping.load(std::memory_order_relaxed)) {
        if (m_pool->isDestroyed()) {
            if (m_callbacks.destroyed) {
                m_callbacks.destroyed();
            }
            return;
        }
        drain(INT_MAX);
        if (m_stopping.load(std::memory_order_relaxed)) {
            break; // a callback stopped delivery, and the pool may be gone already
        }

        // Spin first: a busy channel delivers without a kernel wake-up.
        if (spinForRecords()) {
            continue;
        }

        m_pool->processes()->announceWaiting(slot);
        if (log->headPosition() != m_cursor.position) {
            m_pool->processes()->withdrawWaiting(slot);
            continue;
        }
        noteSleep();
        const int ready = ::poll(&descriptor, 1, PollTimeoutMs);
        m_pool->processes()->withdrawWaiting(slot);
        if (ready > 0) {
            m_doorbell->drain();
        }
        noteWakeUp();
    }
}

} // namespace mvent
