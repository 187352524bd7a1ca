// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <QByteArray>
#include <QString>

namespace mvent {

/*
    A per-listener wake-up channel: a Unix datagram socket bound to a random name in the
    abstract namespace, which QSocketNotifier can watch so that a writer wakes the listener's
    event loop directly. The name is random because abstract names carry no permissions; it
    is published only inside the pool, which other users cannot read. A datagram stays queued
    after its sender exits, so a wake-up is not lost when the writer quits right after writing.
*/
class MVENT_CORE_EXPORT Doorbell
{
public:
    static constexpr int NameCapacity = 40;

    Doorbell() = default;
    ~Doorbell();
    Q_DISABLE_COPY_MOVE(Doorbell)

    bool open(QString *errorMessage);
    void close();
    int fileDescriptor() const { return m_fd; }
    // NUL-free name, at most NameCapacity - 1 bytes, to store in the process slot.
    QByteArray name() const { return m_name; }
    // Reads and discards one queued wake-up; returns 1 if there was one.
    int drain();

    // Sends one wake-up to the doorbell called name. Never blocks: a full queue already
    // guarantees a wake-up, and a vanished listener has nothing to wake.
    static void ring(const char *name, int nameLength);

private:
    int m_fd = -1;
    QByteArray m_name;
};

} // namespace mvent
