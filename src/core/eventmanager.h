// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"
#include "sharedmemorypool.h"

#include <QObject>
#include <QVariant>

#include <functional>
#include <memory>

namespace mvent {

class EventManager;
class EventManagerPrivate;
class StatsWriter;

// Internal: the stats writer of a manager, for MemoryEventHandler; null without a stats block.
MVENT_CORE_EXPORT StatsWriter *statsWriterOf(const EventManager *manager);

/*!
    Publishes events to a pool's event log and receives the events of every process attached
    to it, in log order, each exactly once.

    Each EventManager has its own process slot and cursor. With QueuedDelivery (the default)
    the manager's thread wakes once per batch of events and emits eventReceived() there. With
    DirectDelivery a notifier thread of its own spins briefly before it sleeps and calls the
    record handler and eventReceived() on that thread; connect with Qt::DirectConnection to
    avoid a second hop.

    publish() may be called from any thread.
*/
class MVENT_CORE_EXPORT EventManager : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString poolName READ poolName CONSTANT)
    Q_PROPERTY(bool attached READ isAttached NOTIFY attachedChanged)

public:
    enum Delivery {
        QueuedDelivery, // on the manager's thread, woken through its event loop
        DirectDelivery  // on the manager's notifier thread, with a bounded adaptive spin
    };
    Q_ENUM(Delivery)

    struct Options
    {
        // Used if this manager creates the pool. With pool.useProcessSlot false the manager
        // takes no slot and can only publish; subscribe() then fails with InvalidOptions.
        SharedMemoryPool::Options pool;
        Delivery delivery = QueuedDelivery;
        int maxSpinMicroseconds = 50;     // DirectDelivery: spin bound before sleeping
    };

    /*! Metadata of a received event. */
    struct EventInfo
    {
        quint64 sequence = 0; // position in the pool's log, increasing
        qint64 sentNs = 0;    // CLOCK_MONOTONIC of the publisher when appended
        qint64 publisherPid = 0;
        qint64 receivedNs = 0; // CLOCK_MONOTONIC of this process once the value was decoded
    };

    /*!
        Handler called for every received event that passes the subscription filter, on the
        delivery thread, before eventReceived() is emitted.
    */
    using RecordHandler = std::function<void(const QString &name, const QVariant &value,
                                             const EventInfo &info)>;

    explicit EventManager(const QString &poolName, QObject *parent = nullptr);
    EventManager(const QString &poolName, const Options &options, QObject *parent = nullptr);
    ~EventManager() override;

    /*! Returns the pool name given to the constructor. */
    QString poolName() const;
    /*! Returns true while the manager has the pool open and a process slot. */
    bool isAttached() const;
    /*! Returns the options given to the constructor. */
    Options options() const;

    /*!
        Appends an event called \a name with \a value to the log. A positive \a ttlMs also
        stores the value under the key \a name for that many milliseconds, for late joiners.
        Returns false and sets error() on an invalid name, an unsupported type, a value too
        large for the pool, or a negative TTL or one over 100 years.
    */
    bool publish(const QString &name, const QVariant &value, qint64 ttlMs = 0);
    /*! Returns the value stored by the last publish() of \a name with a TTL that is still live. */
    QVariant lastValue(const QString &name, const QVariant &defaultValue = QVariant()) const;

    /*!
        Receives events called \a name. The first subscription starts delivery with the events
        published since this manager attached; a later one receives events from now on. Event
        names are 1 to 1,024 bytes of UTF-8. May be called from any thread.
    */
    void subscribe(const QString &name);
    /*! Stops receiving events called \a name. */
    void unsubscribe(const QString &name);
    /*! Receives every event, whatever its name, as subscribe() does for one name. */
    void subscribeAll();
    /*! Returns the subscribed names, without the effect of subscribeAll(). */
    QStringList subscriptions() const;

    /*! Sets the handler called for each accepted event before eventReceived(). */
    void setRecordHandler(RecordHandler handler);

    /*! Returns the number of accepted events received by this manager. */
    quint64 receivedCount() const;
    /*! Returns the number of events this manager published. */
    quint64 publishedCount() const;
    /*! Returns the number of log records lost to this manager because the log overtook it. */
    quint64 missedCount() const;

    /*!
        Stops delivery and releases the process slot; the pool and its events stay. A handler
        may call it, or delete the manager, for the manager it runs for. Other threads must
        not be inside publish() while it runs.
    */
    void cleanup();

    /*! Returns the error of the last operation; NoError after a success. */
    SharedMemoryPool::Error error() const;
    /*! Returns a message for error(). */
    QString errorString() const;

Q_SIGNALS:
    /*! The manager attached or detached. */
    void attachedChanged(bool attached);
    /*! An event arrived; on the delivery thread (see Delivery). */
    void eventReceived(const QString &name, const QVariant &value);
    /*!
        \a count records were lost to this manager: the log overtook it, or a writer died
        holding the lock and may have written a record it could not log.
    */
    void eventsMissed(quint64 count);
    /*! Another process destroyed the pool; from now on publish() fails with PoolDestroyed. */
    void poolDestroyed();
    /*! An asynchronous failure, such as the pool being destroyed. */
    void errorOccurred(mvent::SharedMemoryPool::Error error);

private:
    friend class EventManagerPrivate;
    friend StatsWriter *statsWriterOf(const EventManager *manager);
    std::unique_ptr<EventManagerPrivate> const d;
    Q_DISABLE_COPY_MOVE(EventManager)
};

} // namespace mvent
