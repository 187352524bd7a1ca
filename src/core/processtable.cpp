// SPDX-License-Identifier: MIT
#include "processtable_p.h"

#include "clock_p.h"
#include "doorbell_p.h"
#include "keyindex_p.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <cstring>
#include <unistd.h>

namespace mvent {

using namespace layout;

ProcessTable::ProcessTable(uchar *segment, Header *header)
    : m_table(segment + header->processTableOffset)
    , m_count(header->processSlots)
    , m_header(header)
{
}

ProcessSlot *ProcessTable::slot(quint32 index) const
{
    return reinterpret_cast<ProcessSlot *>(m_table + quint64(index) * ProcessSlotSize);
}

int ProcessTable::claim(const QByteArray &doorbellName)
{
    for (quint32 i = 0; i < m_count; ++i) {
        ProcessSlot *s = slot(i);
        if (s->state.load(std::memory_order_acquire) != SlotFree) {
            continue;
        }
        std::memset(static_cast<void *>(s) , 0, ProcessSlotSize);
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
        return int(i);
    }
    return -1;
}

void ProcessTable::release(quint32 index)
{
    ProcessSlot *s = slot(index);
    s->listening.store(0, std::memory_order_relaxed);
    withdrawWaiting(index);
    s->state.store(SlotFree, std::memory_order_release);
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
    if (slot(index)->waiting.exchange(1, std::memory_order_seq_cst) == 0) {
        m_header->sleepers.fetch_add(1, std::memory_order_seq_cst);
    }
}

void ProcessTable::withdrawWaiting(quint32 index)
{
    if (slot(index)->waiting.exchange(0, std::memory_order_seq_cst) == 1) {
        m_header->sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }
}

quint64 ProcessTable::eventFilterBit(QByteArrayView name)
{
    return quint64(1) << (KeyIndex::hashKey(name) % 64);
}

void ProcessTable::wakeWaiting(quint32 listenFlag, quint64 eventBit)
{
    // Pairs with the listener, which sets waiting and then checks the log head: either the
    // listener sees the new head, or this scan sees its waiting flag.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (m_header->sleepers.load(std::memory_order_seq_cst) == 0) {
        return;
    }
    for (quint32 i = 0; i < m_count; ++i) {
        ProcessSlot *s = slot(i);
        if (s->waiting.load(std::memory_order_relaxed) == 0
            || (s->listening.load(std::memory_order_relaxed) & listenFlag) == 0
            || (eventBit != 0 && (s->eventFilter.load(std::memory_order_relaxed) & eventBit) == 0)) {
            continue;
        }
        if (s->waiting.exchange(0, std::memory_order_seq_cst) == 1) {
            m_header->sleepers.fetch_sub(1, std::memory_order_seq_cst);
            Doorbell::ring(s->doorbell, int(qstrnlen(s->doorbell, sizeof s->doorbell)));
        }
    }
}

} // namespace mvent
