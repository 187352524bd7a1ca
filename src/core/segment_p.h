// SPDX-License-Identifier: MIT
#pragma once

#include <QFileDevice>
#include <QString>

#include <functional>
#include <memory>

namespace mvent {

/*
    A named block of memory that several processes map. create() runs the initialiser before
    any other process can see valid contents; attach() maps what exists. Two backings exist: a
    file in the runtime directory (persists until removed) and QSharedMemory (portable, ends
    when the last process detaches).
*/
class Segment
{
public:
    enum Result { Ok, Exists, Missing, Denied, Failed };
    using Initialiser = std::function<bool(uchar *memory, qint64 size, QString *errorMessage)>;

    virtual ~Segment() = default;

    virtual Result create(qint64 size, QFileDevice::Permissions permissions,
                          const Initialiser &initialise) = 0;
    virtual Result attach() = 0;
    // Initialises an attached segment that a creator left uninitialised (magic still 0) when
    // it died. Returns false if the backing cannot be abandoned that way, or another process
    // completed it first.
    virtual bool adoptAbandoned(const Initialiser &initialise) { Q_UNUSED(initialise); return false; }
    virtual void detach() = 0;
    // Removes the name so that no new process can attach; mapped processes keep the memory.
    virtual bool remove() = 0;

    virtual uchar *data() const = 0;
    virtual qint64 size() const = 0;
    virtual QString location() const = 0;
    virtual QString backingName() const = 0;
    QString errorString() const { return m_errorString; }

    static std::unique_ptr<Segment> createFileSegment(const QString &poolName);
    static std::unique_ptr<Segment> createQtSharedMemorySegment(const QString &poolName);

protected:
    QString m_errorString;
};

} // namespace mvent
