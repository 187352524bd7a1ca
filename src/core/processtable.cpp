// SPDX-License-Identifier: MIT
#include "processtable_p.h"

#include "clock_p.h"
#include "doorbell_p.h"
#include "keyindex_p.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <bit>
#include <limits>
#include <cstring>
#include <unistd.h>

namespace mvent {

using namespace layout;

ProcessTable::ProcessTable(uchar *segment, Header *header)
    : m_table(segment + header->processTableOffset)
    , m_count(header->processSlots)
    , m_header(header)
    , m_ringer(header->processSlots)
{
}

void ProcessTable::ring(quint32 index)
{
    const ProcessSlot *s = slot(index);
    m_ringer.ring(index, QByteArrayView(s->doorbell, qstrnlen(s->doorbell, sizeof s->doorbell)));
}

void ProcessTable::dropStaleDoorbells()
{
    for (quint32 i = 0; i < m_count; ++i) {
        const ProcessSlot *s = slot(i);
        const bool active = s->state.load(std::memory_order_acquire) == SlotActive;
        m_ringer.forget(i, active ? QByteArrayView(s->doorbell, qstrnlen(s->doorbell, sizeof s->doorbell))
                                  : QByteArrayView());
    }
}

int ProcessTable::claim(const QByteArray &doorbellName, quint64 *previousStats)
{
    *previousStats = 0;
    int chosen = -1;
    qint64 oldestHeartbeat = std::numeric_limits<qint64>::max();
    for (quint32 i = 0; i < m_count; ++i) {
        const quint32 state = slot(i)->state.load(std::memory_order_acquire);
        if (state == SlotFree) {
            chosen = int(i);
            break;
        }
        const qint64 heartbeat = slot(i)->heartbeatMs.load(std::memory_order_relaxed);
        if (state == SlotExited && heartbeat < oldestHeartbeat) {
            chosen = int(i);
            oldestHeartbeat = heartbeat;
        }
    }
    if (chosen < 0) {
        return -1;
    }

    ProcessSlot *s = slot(quint32(chosen));
    *previousStats = s->statsOffset.load(std::memory_order_relaxed);
    std::memset(static_cast<void *>(s), 0, ProcessSlotSize);
    s->pid = quint32(::getpid());
    s->startTime = processStartTime(::getpid());
    s->heartbeatMs.store(wallClockMs(), std::memory_order_relaxed);
    s->attachedMs = wallClockMs();
    std::memcpy(s->doorbell, doorbellName.constData(),
                qMin<size_t>(doorbellName.size(), sizeof s->doorbell - 1));
    const QByteArray processName = QCoreApplication::instance()
            ? QFileInfo(QCoreApplication::applicationFilePath()).fileName().toUtf8()
            : QByteArray();
    std::memcpy(s->processName, processName.constData(),
                qMin<size_t>(processName.size(), sizeof s->processName - 1));
    s->state.store(SlotActive, std::memory_order_release);
    return chosen;
}

void ProcessTable::release(quint32 index)
{
    ProcessSlot *s = slot(index);
    s->listening.store(0, std::memory_order_relaxed);
    withdrawWaiting(index);
    s->state.store(SlotExited, std::memory_order_release);
}

int ProcessTable::reclaimDead()
{
    int reclaimed = 0;
    for (quint32 i = 0; i < m_count; ++i) {
        ProcessSlot *s = slot(i);
        if (s->state.load(std::memory_order_acquire) != SlotActive) {
            continue;
        }
        if (!isProcessAlive(s->pid, s->startTime)) {
            Doorbell::removeStale(QByteArrayView(s->doorbell, qstrnlen(s->doorbell, sizeof s->doorbell)));
            release(i);
            ++reclaimed;
        }
    }
    return reclaimed;
}

int ProcessTable::activeCount() const
{
    int count = 0;
    for (quint32 i = 0; i < m_count; ++i) {
        count += slot(i)->state.load(std::memory_order_relaxed) == SlotActive;
    }
    return count;
}

void ProcessTable::announceWaiting(quint32 index)
{
    const quint64 bit = quint64(1) << (index % 64);
    std::atomic<quint64> &word = m_header->waitingBits[index / 64];
    if ((word.load(std::memory_order_relaxed) & bit) == 0) {
        word.fetch_or(bit, std::memory_order_seq_cst);
    }
    slot(index)->waiting.store(1, std::memory_order_seq_cst);
}

void ProcessTable::withdrawWaiting(quint32 index)
{
    slot(index)->waiting.store(0, std::memory_order_seq_cst);
    m_header->waitingBits[index / 64].fetch_and(~(quint64(1) << (index % 64)),
                                                std::memory_order_relaxed);
}

quint64 ProcessTable::eventFilterBit(QByteArrayView name)
{
    return quint64(1) << (KeyIndex::hashKey(name) % 64);
}

void ProcessTable::wakeWaiting(quint32 listenFlag, quint64 eventBit)
{
    // Pairs with the listener, which announces and then checks the log head: either the
    // listener reads the new head, or this scan finds its announcement.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const quint32 words = (m_count + 63) / 64;
    for (quint32 w = 0; w < words; ++w) {
        quint64 bits = m_header->waitingBits[w].load(std::memory_order_seq_cst);
        while (bits != 0) {
            const quint32 i = w * 64 + quint32(std::countr_zero(bits));
            bits &= bits - 1;
            if (i >= m_count) {
                break;
            }
            ProcessSlot *s = slot(i);
            if (s->waiting.load(std::memory_order_relaxed) == 0
                || (s->listening.load(std::memory_order_relaxed) & listenFlag) == 0
                || (eventBit != 0
                    && (s->eventFilter.load(std::memory_order_relaxed) & eventBit) == 0)) {
                continue;
            }
            if (s->waiting.exchange(0, std::memory_order_seq_cst) == 1) {
                ring(i);
            }
        }
    }
}

} // namespace mvent
