// SPDX-License-Identifier: MIT
#pragma once

#include "doorbell_p.h"
#include "layout_p.h"
#include "mvent_core_export.h"

#include <QByteArray>

namespace mvent {

/*
    The process table: one slot per open pool object in any process. A slot records the
    owner's pid and start time, so a dead owner is recognised even after its pid is reused,
    and the owner's doorbell for wake-ups. claim(), release() and reclaimDead() need the pool
    lock; the waiting protocol is lock-free.
*/
class MVENT_CORE_EXPORT ProcessTable
{
public:
    ProcessTable(uchar *segment, layout::Header *header);

    quint32 size() const { return m_count; }
    layout::ProcessSlot *slot(quint32 index) const
    {
        return reinterpret_cast<layout::ProcessSlot *>(m_table + quint64(index) * layout::ProcessSlotSize);
    }

    // Claims a free slot for this process, else the exited slot with the oldest heartbeat;
    // returns its index or -1 if all are active. *previousStats receives the stats block
    // offset the reused slot had, for the caller to release.
    int claim(const QByteArray &doorbellName, quint64 *previousStats);
    // Marks the slot exited: no longer counted as attached, figures kept for readers.
    void release(quint32 index);
    // Frees the slots of processes that no longer run; returns how many.
    int reclaimDead();
    int activeCount() const;

    // Listener side of the wake-up protocol: announce sleep, or withdraw the announcement.
    void announceWaiting(quint32 index);
    void withdrawWaiting(quint32 index);
    // Writer side: rings the doorbell of every sleeping listener that wants the record. For
    // an event, eventBit is eventFilterBit() of its name; for a value change it is 0.
    void wakeWaiting(quint32 listenFlag = layout::ListenChanges, quint64 eventBit = 0);
    static quint64 eventFilterBit(QByteArrayView name);
    // Rings the doorbell of slot index whatever its waiting flag, for example to announce that
    // the pool was destroyed.
    void ring(quint32 index);
    // Lets go of the wake-up descriptors of slots whose listener has gone or changed, so that
    // a long-lived process does not keep closed listeners' eventfds open.
    void dropStaleDoorbells();

private:
    uchar *m_table;
    quint32 m_count;
    layout::Header *m_header;
    DoorbellRinger m_ringer;
};

} // namespace mvent
