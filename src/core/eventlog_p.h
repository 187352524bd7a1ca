// SPDX-License-Identifier: MIT
#pragma once

#include "layout_p.h"
#include "mvent_core_export.h"

#include <QByteArray>

namespace mvent {

enum RecordKind : quint32 {
    RecordPadding = 0,      // fills the bytes up to the end of the ring
    RecordValueChanged = 1, // name is the key, value the new value
    RecordValueRemoved = 2,
    RecordCleared = 3,
    RecordEvent = 4,        // name is the event name
};

// Header of one log record; the name and the value follow it, then padding to 8 bytes.
struct RecordHeader
{
    quint32 size; // whole record, a multiple of 8
    quint32 kind;
    quint64 sequence;
    qint64 timeNs; // CLOCK_MONOTONIC when appended
    quint32 pid;
    quint16 nameLength;
    quint16 cpu;   // CPU the writer ran on, so a reader on the same CPU does not spin
    quint32 encoding;
    quint32 valueLength;
};
static_assert(sizeof(RecordHeader) == 40);

struct LogRecord
{
    quint32 kind = RecordPadding;
    quint64 sequence = 0;
    qint64 timeNs = 0;
    quint32 pid = 0;
    quint32 cpu = 0;
    quint32 encoding = 0;
    QByteArray name;
    QByteArray value;
    // False when the reader's filter declined the record, which leaves value empty.
    bool accepted = true;
};

// Lets a reader skip copying the values of records it will not deliver.
class RecordFilter
{
public:
    virtual ~RecordFilter() = default;
    // Returns whether to copy the record. name may be overwritten meanwhile, and read() then
    // discards the result and reads again.
    virtual bool accepts(quint32 kind, QByteArrayView name) = 0;
};

/*
    The change and event log: a byte ring of variable-length records with a global sequence
    number. One writer at a time, under the pool lock, appends. Any number of readers follow it
    without a lock, each with its own cursor, and learn how many records they missed when the
    writer overtook them. A reader checks after each copy that the writer has not reclaimed the
    bytes it copied, so it never returns a torn record.
*/
class MVENT_CORE_EXPORT EventLog
{
public:
    struct Cursor
    {
        quint64 position = 0;
        quint64 sequence = 0;  // sequence number expected at position
        quint64 knownHead = 0; // head seen last; records below it are read without a new load
    };
    enum ReadResult { Record, Empty };

    EventLog(uchar *segment, layout::Header *header);

    static quint64 recordSize(qsizetype nameLength, qsizetype valueLength);
    // Largest value that append() takes with a name of nameLength bytes: a record may use at
    // most a quarter of the ring so that readers keep some history.
    quint64 maxValueLength(qsizetype nameLength) const;

    // Appends a record; the caller holds the pool lock and has checked the size. Returns its
    // sequence number, and stores its CLOCK_MONOTONIC time in nanoseconds in *timeNs if given.
    quint64 append(quint32 kind, QByteArrayView name, QByteArrayView value, quint32 encoding,
                   quint32 pid, qint64 *timeNs = nullptr);

    // Leaves a gap of one in the sequence numbers, so that readers count one missed record.
    // The caller holds the pool lock.
    void skipSequence();

    // A cursor at the newest end: the next record read is the next one appended.
    Cursor endCursor() const;
    quint64 headPosition() const;
    // Reads the record at cursor and advances it. If the writer reclaimed records the cursor
    // had not read, the cursor moves to the oldest readable record and *missed counts them.
    // With a filter, a record it declines comes back with accepted false and no value.
    ReadResult read(Cursor *cursor, LogRecord *record, quint64 *missed,
                    RecordFilter *filter = nullptr) const;

private:
    uchar *at(quint64 position) const { return m_ring + (position & (m_size - 1)); }
    void copyHeader(quint64 position, RecordHeader *header) const;
    // Frees the oldest records so that bytes up to position end can be written.
    void reclaimUntil(quint64 end);

    uchar *m_ring;
    quint64 m_size;
    layout::LogState *m_state;
};

} // namespace mvent
