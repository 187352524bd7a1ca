// SPDX-License-Identifier: MIT
#include "layout_p.h"
#include "runtimedir_p.h"
#include "segment_p.h"

#include <QDeadlineTimer>
#include <QSharedMemory>
#include <QThread>

#include <cstring>

namespace mvent {

namespace {

Segment::Result resultFor(QSharedMemory::SharedMemoryError error)
{
    switch (error) {
    case QSharedMemory::NoError:
        return Segment::Ok;
    case QSharedMemory::AlreadyExists:
        return Segment::Exists;
    case QSharedMemory::NotFound:
        return Segment::Missing;
    case QSharedMemory::PermissionDenied:
        return Segment::Denied;
    default:
        return Segment::Failed;
    }
}

// The portable backing. Unlike the file backing, the segment is visible as soon as
// QSharedMemory::create() returns, so the creator initialises it while holding
// QSharedMemory::lock() and attachers wait, bounded, for the magic to appear.
class QtSharedMemorySegment final : public Segment
{
public:
    explicit QtSharedMemorySegment(const QString &poolName)
    {
        // NOTE: Qt 6.4 turns the native key into a SysV key with ftok(), which keeps only 16
        // bits of the key file's inode, so two pools can map to one segment. Validation then
        // rejects it as belonging to the other pool.
        // TODO: pick the SysV key ourselves when QNativeIpcKey (Qt 6.6) is available.
        m_memory.setNativeKey(nativeSharedMemoryKey(poolName));
    }

    Result create(qint64 size, QFileDevice::Permissions, const Initialiser &initialise) override
    {
        if (!m_memory.create(size)) {
            m_errorString = m_memory.errorString();
            return resultFor(m_memory.error());
        }
        m_memory.lock();
        QString initialiseError;
        const bool ok = initialise(static_cast<uchar *>(m_memory.data()), m_memory.size(),
                                   &initialiseError);
        m_memory.unlock();
        if (!ok) {
            m_errorString = initialiseError;
            m_memory.detach();
            return Failed;
        }
        return Ok;
    }

    Result attach() override
    {
        if (!m_memory.attach()) {
            m_errorString = m_memory.errorString();
            return resultFor(m_memory.error());
        }
        const auto *magic = static_cast<const std::atomic<quint64> *>(m_memory.data());
        const QDeadlineTimer deadline(2000);
        while (magic->load(std::memory_order_acquire) == 0 && !deadline.hasExpired()) {
            m_memory.lock(); // returns once a creator that is initialising has finished
            m_memory.unlock();
            if (magic->load(std::memory_order_acquire) == 0) {
                QThread::msleep(5);
            }
        }
        // A segment whose magic is still 0 was abandoned by a creator that died; the caller
        // adopts it with adoptAbandoned().
        return Ok;
    }

    bool adoptAbandoned(const Initialiser &initialise) override
    {
        // QSharedMemory::lock() serialises this with a creator that is still initialising and
        // with other processes adopting the same segment.
        m_memory.lock();
        auto *magic = static_cast<std::atomic<quint64> *>(m_memory.data());
        bool adopted = false;
        if (magic->load(std::memory_order_acquire) == 0) {
            std::memset(m_memory.data(), 0, size_t(m_memory.size()));
            QString initialiseError;
            adopted = initialise(static_cast<uchar *>(m_memory.data()), m_memory.size(),
                                 &initialiseError);
            if (!adopted) {
                m_errorString = initialiseError;
            }
        }
        m_memory.unlock();
        return adopted;
    }

    void detach() override { m_memory.detach(); }

    bool remove() override
    {
        // A SysV segment disappears once the last process detaches; nothing else to remove.
        return true;
    }

    uchar *data() const override { return static_cast<uchar *>(const_cast<void *>(m_memory.constData())); }
    qint64 size() const override { return m_memory.isAttached() ? m_memory.size() : 0; }
    QString location() const override { return m_memory.nativeKey(); }
    QString backingName() const override { return QStringLiteral("qsharedmemory"); }

private:
    QSharedMemory m_memory;
};

} // namespace

std::unique_ptr<Segment> Segment::createQtSharedMemorySegment(const QString &poolName)
{
    return std::make_unique<QtSharedMemorySegment>(poolName);
}

} // namespace mvent
