// SPDX-License-Identifier: MIT
// Helper process for tst_events. It attaches to an existing pool and runs one mode:
//
//   publish POOL EVENT COUNT [--tag T] [--value TEXT] [--payload-bytes N] [--ttl MS] [--wait]
//       Publishes COUNT events. The value is the string "T:INDEX", or TEXT for every event, or
//       with --payload-bytes a QByteArray of N bytes that payloadIndex() can verify. --wait
//       prints "ready" and publishes after a line arrives on stdin. Prints "published COUNT".
//   subscribe POOL EVENT [--expect N] [--hold]
//       EVENT "*" subscribes to every event. Prints "ready" once subscribed, then a line
//       "event SEQUENCE PID TEXT" per event and "missed COUNT" per eventsMissed(). TEXT is the
//       string value, or "TAG:INDEX" for an intact payload and "corrupt" for a damaged one.
//       With --expect it prints "done RECEIVED MISSED" and exits once received plus missed
//       reach N. --hold keeps the event loop blocked until a line arrives on stdin.
//   last-value POOL EVENT
//       Prints "value TEXT" for EventManager::lastValue(), or "none" if there is none.
//
// Exits 0 on success, 1 when the pool or a publish fails, 2 on a usage error.

#include <eventmanager.h>

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

using mvent::EventManager;

namespace {

void printLine(const QString &line)
{
    const QByteArray bytes = line.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
    std::fflush(stdout);
}

int usageError(const QString &message)
{
    std::fprintf(stderr, "event-peer: %s\n", qPrintable(message));
    return 2;
}

void waitForStdinLine()
{
    std::string line;
    std::getline(std::cin, line);
}

// Builds a payload of size bytes that starts with "TAG:INDEX:SIZE:" and continues with bytes
// derived from the index, so a reader can detect a torn or shifted copy.
QByteArray makePayload(const QString &tag, int index, int size)
{
    QByteArray payload = QStringLiteral("%1:%2:%3:").arg(tag).arg(index).arg(size).toUtf8();
    for (qsizetype i = payload.size(); i < size; ++i) {
        payload.append(char((index * 31 + i) & 0xff));
    }
    return payload;
}

// Returns "TAG:INDEX" when payload is exactly what makePayload() builds for them.
std::optional<QString> checkPayload(const QByteArray &payload)
{
    const QList<QByteArray> fields = payload.split(':');
    if (fields.size() < 4) {
        return std::nullopt;
    }
    bool indexOk = false;
    bool sizeOk = false;
    const int index = fields.at(1).toInt(&indexOk);
    const int size = fields.at(2).toInt(&sizeOk);
    if (!indexOk || !sizeOk || size != payload.size()) {
        return std::nullopt;
    }
    const QString tag = QString::fromUtf8(fields.at(0));
    if (makePayload(tag, index, size) != payload) {
        return std::nullopt;
    }
    return QStringLiteral("%1:%2").arg(tag).arg(index);
}

QString valueText(const QVariant &value)
{
    if (value.typeId() == QMetaType::QByteArray) {
        return checkPayload(value.toByteArray()).value_or(QStringLiteral("corrupt"));
    }
    return value.toString();
}

// Returns the value of option name in arguments and removes both, or fallback if absent.
QString takeOption(QStringList *arguments, const QString &name, const QString &fallback = {})
{
    const qsizetype at = arguments->indexOf(name);
    if (at < 0 || at + 1 >= arguments->size()) {
        return fallback;
    }
    const QString value = arguments->at(at + 1);
    arguments->remove(at, 2);
    return value;
}

bool takeFlag(QStringList *arguments, const QString &name)
{
    return arguments->removeAll(name) > 0;
}

int publishMode(QStringList arguments)
{
    const QString tag = takeOption(&arguments, QStringLiteral("--tag"), QStringLiteral("p"));
    const QString fixedValue = takeOption(&arguments, QStringLiteral("--value"));
    const int payloadBytes = takeOption(&arguments, QStringLiteral("--payload-bytes"),
                                        QStringLiteral("0")).toInt();
    const qint64 ttlMs = takeOption(&arguments, QStringLiteral("--ttl"),
                                    QStringLiteral("0")).toLongLong();
    const bool wait = takeFlag(&arguments, QStringLiteral("--wait"));
    if (arguments.size() != 3) {
        return usageError(QStringLiteral("publish needs POOL EVENT COUNT"));
    }
    const QString event = arguments.at(1);
    const int count = arguments.at(2).toInt();

    EventManager manager(arguments.at(0));
    if (!manager.isAttached()) {
        std::fprintf(stderr, "event-peer: %s\n", qPrintable(manager.errorString()));
        return 1;
    }
    if (wait) {
        printLine(QStringLiteral("ready"));
        waitForStdinLine();
    }

    for (int i = 0; i < count; ++i) {
        QVariant value;
        if (payloadBytes > 0) {
            value = makePayload(tag, i, payloadBytes);
        } else if (!fixedValue.isNull()) {
            value = fixedValue;
        } else {
            value = QStringLiteral("%1:%2").arg(tag).arg(i);
        }
        if (!manager.publish(event, value, ttlMs)) {
            std::fprintf(stderr, "event-peer: publish %d of %s failed: %s\n", i,
                         qPrintable(event), qPrintable(manager.errorString()));
            return 1;
        }
    }
    printLine(QStringLiteral("published %1").arg(count));
    return 0;
}

int subscribeMode(QStringList arguments)
{
    const qint64 expected = takeOption(&arguments, QStringLiteral("--expect"),
                                       QStringLiteral("-1")).toLongLong();
    const bool hold = takeFlag(&arguments, QStringLiteral("--hold"));
    if (arguments.size() != 2) {
        return usageError(QStringLiteral("subscribe needs POOL EVENT"));
    }

    EventManager manager(arguments.at(0));
    if (!manager.isAttached()) {
        std::fprintf(stderr, "event-peer: %s\n", qPrintable(manager.errorString()));
        return 1;
    }

    quint64 missed = 0;
    bool finished = false;
    const auto finishIfComplete = [&] {
        if (finished || expected < 0 || manager.receivedCount() + missed < quint64(expected)) {
            return;
        }
        finished = true;
        printLine(QStringLiteral("done %1 %2").arg(manager.receivedCount()).arg(missed));
        QTimer::singleShot(0, qApp, &QCoreApplication::quit);
    };
    manager.setRecordHandler([&](const QString &, const QVariant &value,
                                 const EventManager::EventInfo &info) {
        printLine(QStringLiteral("event %1 %2 %3")
                          .arg(info.sequence)
                          .arg(info.publisherPid)
                          .arg(valueText(value)));
    });
    // eventReceived() follows the record handler, so receivedCount() already includes it.
    QObject::connect(&manager, &EventManager::eventReceived, qApp, [&] { finishIfComplete(); });
    QObject::connect(&manager, &EventManager::eventsMissed, qApp, [&](quint64 count) {
        missed += count;
        printLine(QStringLiteral("missed %1").arg(count));
        finishIfComplete();
    });

    if (arguments.at(1) == QLatin1String("*")) {
        manager.subscribeAll();
    } else {
        manager.subscribe(arguments.at(1));
    }
    printLine(QStringLiteral("ready"));
    if (hold) {
        waitForStdinLine();
    }
    finishIfComplete();
    return QCoreApplication::exec();
}

int lastValueMode(const QStringList &arguments)
{
    if (arguments.size() != 2) {
        return usageError(QStringLiteral("last-value needs POOL EVENT"));
    }
    EventManager manager(arguments.at(0));
    if (!manager.isAttached()) {
        std::fprintf(stderr, "event-peer: %s\n", qPrintable(manager.errorString()));
        return 1;
    }
    const QVariant value = manager.lastValue(arguments.at(1));
    printLine(value.isValid() ? QStringLiteral("value %1").arg(valueText(value))
                              : QStringLiteral("none"));
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QStringList arguments = app.arguments().mid(1);
    if (arguments.isEmpty()) {
        return usageError(QStringLiteral("missing mode: publish, subscribe or last-value"));
    }

    const QString mode = arguments.takeFirst();
    if (mode == QLatin1String("publish")) {
        return publishMode(arguments);
    }
    if (mode == QLatin1String("subscribe")) {
        return subscribeMode(arguments);
    }
    if (mode == QLatin1String("last-value")) {
        return lastValueMode(arguments);
    }
    return usageError(QStringLiteral("unknown mode '%1'").arg(mode));
}
