// SPDX-License-Identifier: MIT
#include "sharedmemorypool.h"

#include "attachment_p.h"
#include "doorbell_p.h"
#include "errorstate_p.h"
#include "notifier_p.h"
#include "logging_p.h"
#include "pool_p.h"
#include "runtimedir_p.h"
#include "clock_p.h"

#include <QDir>
#include <QMetaMethod>
#include <QMutex>
#include <QPointer>
#include <QThread>

namespace mvent {

class SharedMemoryPoolPrivate
{
public:
    explicit SharedMemoryPoolPrivate(SharedMemoryPool *owner, const QString &poolName,
                                     const SharedMemoryPool::Options &poolOptions)
        : q(owner)
        , name(poolName)
        , options(poolOptions)
    {
    }

    bool open();
    void close();
    void startListening();
    void onRecord(const LogRecord &record);
    void handleDestroyed();

    bool fail(const PoolError &failure) const { return errors.fail(failure); }
    void succeed() const { errors.succeed(); }
    // Returns true if the pool is attached and not destroyed, else sets the error.
    bool isLive() const
    {
        if (!pool) {
            return errors.failNotAttached(name);
        }
        if (pool->isDestroyed()) {
            return fail({SharedMemoryPool::PoolDestroyed,
                         QStringLiteral("pool '%1' was destroyed; open a new SharedMemoryPool "
                                        "to create it again").arg(name)});
        }
        return true;
    }

    SharedMemoryPool *q;
    QString name;
    SharedMemoryPool::Options options;
    Attachment attachment;
    // References into the attachment, under the names the rest of this file uses.
    std::unique_ptr<Pool> &pool = attachment.pool;
    std::unique_ptr<Notifier> &notifier = attachment.notifier;
    bool listening = false;
    bool destroyedReported = false;

    ErrorState errors;
};

bool SharedMemoryPoolPrivate::open()
{
    close();
    destroyedReported = false;
    PoolError failure;
    if (!attachment.open(name, options, options.useProcessSlot, &failure)) {
        errors.setOpenFailure(failure.message);
        return fail(failure);
    }
    errors.setOpenFailure(QString());
    if (options.useProcessSlot) {
        Notifier::Callbacks callbacks;
        callbacks.record = [this](const LogRecord &record) { onRecord(record); };
        callbacks.missed = [this](quint64 count) { Q_EMIT q->changesMissed(count); };
        callbacks.destroyed = [this] { handleDestroyed(); };
        // Change listeners do not spin: value changes are state, not a latency-critical stream.
        attachment.createNotifier(q, Notifier::EventLoopMode, std::move(callbacks), 0);
    }
    attachment.startMaintenance(q, [this] {
        if (notifier) {
            notifier->deliverPending();
        }
    }, [this] { handleDestroyed(); });
    if (listening) {
        listening = false;
        startListening();
    }
    succeed();
    Q_EMIT q->attachedChanged(true);
    return true;
}

void SharedMemoryPoolPrivate::close()
{
    const bool wasOpen = attachment.isOpen();
    attachment.close();
    if (wasOpen) {
        Q_EMIT q->attachedChanged(false);
    }
}

void SharedMemoryPoolPrivate::startListening()
{
    if (listening) {
        return;
    }
    listening = true;
    if (!pool) {
        return; // open() starts listening once attached
    }
    if (!notifier) {
        qCWarning(lcPool, "pool %s: change signals need a process slot; this object was opened "
                          "with useProcessSlot false", qPrintable(name));
        return;
    }
    pool->processes()->slot(quint32(pool->slotIndex()))->listening.fetch_or(
            layout::ListenChanges, std::memory_order_release);
    notifier->start();
}

void SharedMemoryPoolPrivate::onRecord(const LogRecord &record)
{
    switch (record.kind) {
    case RecordValueChanged:
        Q_EMIT q->valueChanged(QString::fromUtf8(record.name),
                               ValueCodec::decode(record.value, record.encoding));
        break;
    case RecordValueRemoved:
        Q_EMIT q->valueRemoved(QString::fromUtf8(record.name));
        break;
    case RecordCleared:
        Q_EMIT q->cleared();
        break;
    default:
        break;
    }
}

void SharedMemoryPoolPrivate::handleDestroyed()
{
    // Both the notifier and the maintenance tick report it; the notifier may be calling us, so
    // finish on the next event-loop turn.
    QMetaObject::invokeMethod(q, [this] {
        if (!pool || destroyedReported) {
            return;
        }
        destroyedReported = true;
        qCInfo(lcPool, "pool %s was destroyed by another process", qPrintable(name));
        // The mapping stays until close(), because other threads may still be inside a call
        // on it; every call now fails with PoolDestroyed.
        attachment.stopBackground();
        fail({SharedMemoryPool::PoolDestroyed, QStringLiteral("pool '%1' was destroyed").arg(name)});
        Q_EMIT q->attachedChanged(false);
        Q_EMIT q->poolDestroyed();
        Q_EMIT q->errorOccurred(SharedMemoryPool::PoolDestroyed);
    }, Qt::QueuedConnection);
}

QVariantMap PoolStats::toVariantMap() const
{
    return {
        {QStringLiteral("name"), name},
        {QStringLiteral("path"), path},
        {QStringLiteral("backing"), backing},
        {QStringLiteral("totalSize"), totalSize},
        {QStringLiteral("heapSize"), heapSize},
        {QStringLiteral("usedBytes"), usedBytes},
        {QStringLiteral("freeBytes"), freeBytes},
        {QStringLiteral("largestFreeBlock"), largestFreeBlock},
        {QStringLiteral("statsBytes"), statsBytes},
        {QStringLiteral("entryCount"), entryCount},
        {QStringLiteral("maxEntries"), maxEntries},
        {QStringLiteral("maxKeyLength"), maxKeyLength},
        {QStringLiteral("maxValueSize"), maxValueSize},
        {QStringLiteral("attachedProcesses"), attachedProcesses},
        {QStringLiteral("maxAttachments"), maxAttachments},
        {QStringLiteral("eventLogSize"), eventLogSize},
        {QStringLiteral("eventSequence"), eventSequence},
        {QStringLiteral("recoveries"), recoveries},
        {QStringLiteral("createdAt"), createdAt.toString(Qt::ISODateWithMs)},
    };
}

SharedMemoryPool::SharedMemoryPool(const QString &name, QObject *parent)
    : SharedMemoryPool(name, Options(), parent)
{
}

SharedMemoryPool::SharedMemoryPool(const QString &name, const Options &options, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<SharedMemoryPoolPrivate>(this, name, options))
{
    d->open();
}

SharedMemoryPool::~SharedMemoryPool()
{
    d->attachment.close();
}

QString SharedMemoryPool::name() const
{
    return d->name;
}

bool SharedMemoryPool::isAttached() const
{
    return d->pool != nullptr && !d->pool->isDestroyed();
}

SharedMemoryPool::Options SharedMemoryPool::options() const
{
    return d->options;
}

bool SharedMemoryPool::open()
{
    return d->open();
}

void SharedMemoryPool::detach()
{
    d->close();
}

bool SharedMemoryPool::set(const QString &key, const QVariant &value, qint64 ttlMs)
{
    if (const QString problem = ttlProblem(ttlMs, QStringLiteral("key '%1'").arg(key));
        !problem.isEmpty()) {
        return d->fail({InvalidOptions, problem});
    }
    QString message;
    const std::optional<EncodedValue> encoded = ValueCodec::encode(value, &message);
    if (!encoded) {
        return d->fail({UnsupportedType, QStringLiteral("cannot store key '%1': %2").arg(key, message)});
    }
    if (!d->isLive()) {
        return false;
    }
    PoolError failure;
    const qint64 expiresMs = expiryFor(ttlMs);
    const std::optional<QByteArray> utf8 = Pool::encodeKey(key, &failure);
    if (!utf8 || !d->pool->set(*utf8, *encoded, expiresMs, &failure)) {
        return d->fail(failure);
    }
    d->pool->processes()->wakeWaiting();
    d->succeed();
    return true;
}

QVariant SharedMemoryPool::value(const QString &key, const QVariant &defaultValue) const
{
    if (!d->isLive()) {
        return defaultValue;
    }
    PoolError failure;
    const std::optional<QByteArray> utf8 = Pool::encodeKey(key, &failure);
    const std::optional<EncodedValue> stored = utf8 ? d->pool->get(*utf8, &failure) : std::nullopt;
    if (!stored) {
        if (failure.code != NoError) {
            d->fail(failure);
        } else {
            d->succeed();
        }
        return defaultValue;
    }
    d->succeed();
    return ValueCodec::decode(stored->bytes, stored->encoding);
}

bool SharedMemoryPool::remove(const QString &key)
{
    if (!d->isLive()) {
        return false;
    }
    PoolError failure;
    bool existed = false;
    const std::optional<QByteArray> utf8 = Pool::encodeKey(key, &failure);
    if (!utf8 || !d->pool->remove(*utf8, &existed, &failure)) {
        return d->fail(failure);
    }
    d->pool->processes()->wakeWaiting();
    d->succeed();
    return existed;
}

bool SharedMemoryPool::contains(const QString &key) const
{
    if (!d->isLive()) {
        return false;
    }
    PoolError failure;
    const std::optional<QByteArray> utf8 = Pool::encodeKey(key, &failure);
    const bool found = utf8 && d->pool->get(*utf8, &failure).has_value();
    if (failure.code != NoError) {
        return d->fail(failure);
    }
    d->succeed();
    return found;
}

QStringList SharedMemoryPool::keys() const
{
    if (!d->isLive()) {
        return {};
    }
    PoolError failure;
    const std::optional<QList<QByteArray>> raw = d->pool->keys(&failure);
    if (!raw) {
        d->fail(failure);
        return {};
    }
    QStringList result;
    result.reserve(raw->size());
    for (const QByteArray &key : *raw) {
        result.append(QString::fromUtf8(key));
    }
    d->succeed();
    return result;
}

bool SharedMemoryPool::clear()
{
    if (!d->isLive()) {
        return false;
    }
    PoolError failure;
    if (!d->pool->clear(&failure)) {
        return d->fail(failure);
    }
    d->pool->processes()->wakeWaiting();
    d->succeed();
    return true;
}

PoolStats SharedMemoryPool::stats() const
{
    return d->pool ? d->pool->stats() : PoolStats();
}

int SharedMemoryPool::removeExpired()
{
    if (!d->isLive()) {
        return -1;
    }
    PoolError failure;
    const int removed = d->pool->removeExpired(&failure);
    if (removed < 0) {
        d->fail(failure);
        return -1;
    }
    d->pool->processes()->wakeWaiting();
    d->succeed();
    return removed;
}

bool SharedMemoryPool::destroyPool()
{
    if (!d->isLive()) {
        return false;
    }
    PoolError failure;
    if (!d->pool->destroy(&failure)) {
        return d->fail(failure);
    }
    d->close();
    d->succeed();
    return true;
}

qint64 SharedMemoryPool::maxKeyLength() const
{
    return layout::MaxKeyBytes;
}

qint64 SharedMemoryPool::maxValueSize() const
{
    return d->pool ? d->pool->maxValueSize(1) : 0; // the shortest key has one byte
}

SharedMemoryPool::Error SharedMemoryPool::error() const
{
    return d->errors.error();
}

QString SharedMemoryPool::errorString() const
{
    return d->errors.errorString();
}

QString SharedMemoryPool::runtimeDirectory()
{
    return runtimeDirectoryPath();
}

QStringList SharedMemoryPool::pools()
{
    const QDir dir(runtimeDirectoryPath());
    QStringList names;
    const QStringList files = dir.entryList({QStringLiteral("*.pool")}, QDir::Files, QDir::Name);
    for (const QString &file : files) {
        const QString name = file.chopped(5);
        if (isValidName(name)) {
            names.append(name);
        }
    }
    return names;
}

bool SharedMemoryPool::removePool(const QString &name, QString *errorMessage)
{
    QString ignored;
    QString *message = errorMessage ? errorMessage : &ignored;
    if (const QString problem = poolNameProblem(name); !problem.isEmpty()) {
        *message = problem;
        return false;
    }
    // Attach without a process slot so that a damaged pool can be removed too; a valid one is
    // marked destroyed first so that attached processes learn about it.
    Options options;
    options.openMode = AttachOnly;
    options.lockTimeoutMs = 1000;
    Pool pool(name, options);
    PoolError failure;
    if (pool.open(QByteArray(), &failure)) {
        if (pool.destroy(&failure)) {
            return true;
        }
    } else if (failure.code == NotFound) {
        *message = QStringLiteral("pool '%1' does not exist").arg(name);
        return false;
    }
    const std::unique_ptr<Segment> segment = Segment::createFileSegment(name);
    if (!segment->remove()) {
        *message = segment->errorString();
        return false;
    }
    return true;
}

bool SharedMemoryPool::isValidName(const QString &name)
{
    return poolNameProblem(name).isEmpty();
}

void SharedMemoryPool::connectNotify(const QMetaMethod &signal)
{
    if (signal == QMetaMethod::fromSignal(&SharedMemoryPool::valueChanged)
        || signal == QMetaMethod::fromSignal(&SharedMemoryPool::valueRemoved)
        || signal == QMetaMethod::fromSignal(&SharedMemoryPool::cleared)
        || signal == QMetaMethod::fromSignal(&SharedMemoryPool::changesMissed)) {
        // Listening needs this object's thread; a connection made elsewhere starts it there.
        QMetaObject::invokeMethod(this, [this] { d->startListening(); },
                                  thread() == QThread::currentThread() ? Qt::DirectConnection
                                                                       : Qt::QueuedConnection);
    }
}

} // namespace mvent
