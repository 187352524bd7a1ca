// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"
#include "sharedmemorypool.h"

#include <QObject>
#include <QVariant>

#include <functional>
#include <memory>

namespace mvent {

class EventManagerPrivate;

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
        SharedMemoryPool::Options pool;   // used if this manager creates the pool
        Delivery delivery = QueuedDelivery;
        int maxSpinMicroseconds = 50;     // DirectDelivery: spin bound before sleeping
    };

    // Metadata of a received event.
    struct EventInfo
    {
        quint64 sequence = 0; // position in the pool's log, increasing
        qint64 sentNs = 0;    // CLOCK_MONOTONIC of the publisher when appended
        qint64 publisherPid = 0;
    };

    // Called for every received event that passes the subscription filter, on the delivery
    // thread, before eventReceived() is emitted.
    using RecordHandler = std::function<void(const QString &name, const QVariant &value,
                                             const EventInfo &info)>;

    explicit EventManager(const QString &poolName, QObject *parent = nullptr);
    EventManager(const QString &poolName, const Options &options, QObject *parent = nullptr);
    ~EventManager() override;

    QString poolName() const;
    bool isAttached() const;
    Options options() const;

    /*!
        Appends an event called \a name with \a value to the log. A positive \a ttlMs also
        stores the value under the key \a name for that many milliseconds, for late joiners.
        Returns false and sets error() on an invalid name, an unsupported type or a value too
        large for the pool.
    */
    bool publish(const QString &name, const QVariant &value, qint64 ttlMs = 0);
    /*! Returns the value stored by the last publish() of \a name with a TTL that is still live. */
    QVariant lastValue(const QString &name, const QVariant &defaultValue = QVariant()) const;

    /*! Receives events called \a name from now on. */
    void subscribe(const QString &name);
    void unsubscribe(const QString &name);
    /*! Receives every event from now on, whatever its name. */
    void subscribeAll();
    QStringList subscriptions() const;

    void setRecordHandler(RecordHandler handler);

    quint64 receivedCount() const;
    quint64 publishedCount() const;
    quint64 missedCount() const;

    /*! Stops delivery and releases the process slot; the pool and its events stay. */
    void cleanup();

    SharedMemoryPool::Error error() const;
    QString errorString() const;

Q_SIGNALS:
    void attachedChanged(bool attached);
    /*! An event arrived; on the delivery thread (see Delivery). */
    void eventReceived(const QString &name, const QVariant &value);
    /*! The log overtook this manager; \a count records were lost to it. */
    void eventsMissed(quint64 count);
    /*! Another process destroyed the pool. */
    void poolDestroyed();
    void errorOccurred(mvent::SharedMemoryPool::Error error);

private:
    friend class EventManagerPrivate;
    std::unique_ptr<EventManagerPrivate> const d;
    Q_DISABLE_COPY_MOVE(EventManager)
};

} // namespace mvent
