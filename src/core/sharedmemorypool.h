// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <QDateTime>
#include <QFileDevice>
#include <QObject>
#include <QStringList>
#include <QVariant>

#include <memory>

namespace mvent {

class SharedMemoryPoolPrivate;

/*!
    Figures that describe one pool, read from its segment header at the time of the call.
    Sizes are in bytes.
*/
struct MVENT_CORE_EXPORT PoolStats
{
    QString name;
    QString path;             // file or native key that backs the segment
    QString backing;          // "file" or "qsharedmemory"
    qint64 totalSize = 0;     // whole segment, header and regions included
    qint64 heapSize = 0;      // bytes available to entries
    qint64 usedBytes = 0;     // heap bytes in allocated blocks, block headers included
    qint64 freeBytes = 0;
    qint64 largestFreeBlock = 0;
    qint64 statsBytes = 0;    // heap bytes in the stats blocks of processes, part of usedBytes
    qint64 entryCount = 0;    // live keys, expired ones not yet reclaimed included
    qint64 maxEntries = 0;
    qint64 maxKeyLength = 0;  // UTF-8 bytes
    qint64 maxValueSize = 0;  // encoded bytes
    qint64 attachedProcesses = 0;
    qint64 maxAttachments = 0;
    qint64 eventLogSize = 0;
    quint64 eventSequence = 0; // number of records ever appended to the event log
    quint64 recoveries = 0;    // times a lock holder repaired the pool after a writer died
    QDateTime createdAt;

    /*! Returns the figures as a map with the member names as keys, for JSON and QML. */
    QVariantMap toVariantMap() const;
};

/*!
    A named key/value pool in shared memory, readable and writable by every process of the
    user that opens the same name.

    The constructor creates or attaches according to the options; isAttached() and error()
    report the outcome. Values are QVariant, stored as CBOR; QByteArray values are stored
    unchanged. Writers serialise on a robust process-shared lock, so a process killed while
    writing neither corrupts the pool nor blocks the others; readers take no lock.

    Thread safety: set(), value(), remove(), contains(), keys(), clear() and stats() may be
    called from any thread. Signals are emitted on the thread the object lives in.
*/
class MVENT_CORE_EXPORT SharedMemoryPool : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString name READ name CONSTANT)
    Q_PROPERTY(bool attached READ isAttached NOTIFY attachedChanged)

public:
    enum Error {
        NoError,
        InvalidName,      // pool name outside [A-Za-z0-9._-]{1,64}
        InvalidKey,       // empty key or key longer than maxKeyLength()
        ValueTooLarge,    // encoded value larger than maxValueSize()
        UnsupportedType,  // the QVariant type has no CBOR form
        PoolFull,         // heap or key index has no room; the message states used and total
        NotFound,         // AttachOnly on a pool that does not exist
        AlreadyExists,    // CreateOnly on a pool that exists
        PermissionDenied, // the segment or runtime directory belongs to someone else
        CorruptSegment,   // wrong magic, truncated, or regions out of bounds
        IncompatibleVersion, // layout version this build cannot read
        NotAttached,      // operation on a pool that is not open
        LockTimeout,      // the writer lock was held longer than Options::lockTimeoutMs
        PoolDestroyed,    // another process called destroyPool()
        ResourceError,    // the system refused memory, files or descriptors, or no slot is free
        InvalidOptions,   // a size or count in Options is out of range
        UnknownError
    };
    Q_ENUM(Error)

    enum OpenMode { CreateOrAttach, CreateOnly, AttachOnly };
    Q_ENUM(OpenMode)

    enum Backing {
        FileBacking,         // a file in the runtime directory, mapped; outlives all processes
        QtSharedMemoryBacking // QSharedMemory; the segment ends when the last process detaches
    };
    Q_ENUM(Backing)

    /*! Settings used when the pool is created; an existing pool keeps its own sizes. */
    struct Options
    {
        OpenMode openMode = CreateOrAttach;
        Backing backing = FileBacking;
        qint64 size = 16 * 1024 * 1024;  // whole segment in bytes
        int maxEntries = 4096;           // keys the index can hold
        int maxAttachments = 64;         // pool objects open at once, across all processes
        qint64 eventLogSize = 0;         // bytes of the change log; 0 picks a quarter of size
        int lockTimeoutMs = 5000;        // bound on waiting for the writer lock
        // false opens the pool without a process-table slot: the object emits no change
        // signals, is not counted in attachedProcesses, and opening takes no lock. For
        // short-lived tools that only read or write values.
        bool useProcessSlot = true;
        // Named counters in this object's stats block for monitoring, 1 KiB each; 0 for none.
        // Taken from the heap when the slot is claimed; without heap room the object runs
        // without figures.
        int statsRecords = 64;
        // File mode of a new segment; add group bits to share with the file's group.
        QFileDevice::Permissions permissions = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
    };

    /*! Opens the pool \a name with default options: creates it or attaches to it. */
    explicit SharedMemoryPool(const QString &name, QObject *parent = nullptr);
    /*! Opens the pool \a name as \a options specify. On failure isAttached() is false. */
    SharedMemoryPool(const QString &name, const Options &options, QObject *parent = nullptr);
    ~SharedMemoryPool() override;

    /*! Returns the pool name given to the constructor. */
    QString name() const;
    /*! Returns true while this object has the segment mapped. */
    bool isAttached() const;
    /*! Returns the options given to the constructor; an existing pool may have other sizes. */
    Options options() const;

    /*! Opens the pool again after a failure or detach(). Returns false and sets error(). */
    bool open();
    /*! Releases this object's slot and mapping; the pool itself stays. */
    void detach();

    /*!
        Stores \a value under \a key. A positive \a ttlMs makes the value expire that many
        milliseconds from now; 0 keeps it until removed. Returns false and sets error() on an
        invalid key, an unsupported type, a value that is too large, a negative TTL or one over
        100 years, or a full pool; the previous value then stays.
    */
    bool set(const QString &key, const QVariant &value, qint64 ttlMs = 0);
    /*! Returns the value of \a key, or \a defaultValue if it is missing or expired. */
    QVariant value(const QString &key, const QVariant &defaultValue = QVariant()) const;
    /*! Removes \a key. Returns true if it existed. */
    bool remove(const QString &key);
    /*! Returns true if \a key has a value that has not expired. */
    bool contains(const QString &key) const;
    /*! Returns every key with a value that has not expired, in no particular order. */
    QStringList keys() const;
    /*! Removes every key. Returns false and sets error() if the pool is not attached or locked. */
    bool clear();
    /*! Reads the pool's figures; an empty PoolStats when not attached. */
    PoolStats stats() const;
    /*!
        Removes expired entries now instead of waiting for the next sweep, which runs once a
        second. Returns how many were removed, or -1 with error() set.
    */
    int removeExpired();

    /*! Marks the pool destroyed for every attached process and removes its segment. */
    bool destroyPool();

    /*! Returns the maximum key length in bytes of UTF-8 (1,024). */
    qint64 maxKeyLength() const;
    /*! Returns the largest encoded value for a one-byte key; each further key byte lowers it. */
    qint64 maxValueSize() const;

    /*! Returns the error of the last operation; NoError after a success. */
    Error error() const;
    /*! Returns a message for error() naming the pool, key or value, and what to do. */
    QString errorString() const;

    /*! Returns the directory that contains the user's pools (MVENT_RUNTIME_DIR overrides it). */
    static QString runtimeDirectory();
    /*! Returns the names of the file-backed pools in the runtime directory. */
    static QStringList pools();
    /*! Removes the pool \a name without attaching to it; false with a message if it fails. */
    static bool removePool(const QString &name, QString *errorMessage = nullptr);
    /*! Returns true if \a name is a valid pool name. */
    static bool isValidName(const QString &name);

Q_SIGNALS:
    /*! This object attached or detached. */
    void attachedChanged(bool attached);
    /*! A process, this one included, stored \a value under \a key. */
    void valueChanged(const QString &key, const QVariant &value);
    /*! A process, this one included, removed \a key or it expired and was reclaimed. */
    void valueRemoved(const QString &key);
    /*! A process called clear(). */
    void cleared();
    /*!
        \a count changes were not signalled: the change log moved past this object's cursor,
        or a writer died holding the lock and may have changed a value without logging it.
    */
    void changesMissed(quint64 count);
    /*! Another process destroyed the pool; from now on every call fails with PoolDestroyed. */
    void poolDestroyed();
    /*! An asynchronous failure, such as a lost pool. Synchronous failures only set error(). */
    void errorOccurred(mvent::SharedMemoryPool::Error error);

protected:
    void connectNotify(const QMetaMethod &signal) override;

private:
    friend class SharedMemoryPoolPrivate;
    std::unique_ptr<SharedMemoryPoolPrivate> const d;
    Q_DISABLE_COPY_MOVE(SharedMemoryPool)
};

} // namespace mvent
