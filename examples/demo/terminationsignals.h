// SPDX-License-Identifier: MIT
#pragma once

#include <QObject>
#include <QString>

#include <array>
#include <csignal>

class QSocketNotifier;

namespace demo {

// Delivers SIGINT and SIGTERM through the Qt event loop. The handler, installed with
// sigaction(), only writes the signal number to a pipe, because write() is async-signal-safe
// and Qt calls are not. A QSocketNotifier on the read end then emits received() in the event
// loop, so a signal that arrives before exec() is delivered once the loop runs.
// Only one object may exist at a time, because the handler finds the pipe through a global.
// Its destructor leaves both signals ignored, so it belongs at the end of main().
class TerminationSignals : public QObject
{
    Q_OBJECT

public:
    explicit TerminationSignals(QObject *parent = nullptr);
    ~TerminationSignals() override;

    bool isValid() const { return m_pipe[0] >= 0; }
    QString errorString() const { return m_error; }

Q_SIGNALS:
    void received(int signalNumber);

private:
    void readPipe();

    std::array<int, 2> m_pipe = { -1, -1 };
    QSocketNotifier *m_notifier = nullptr;
    QString m_error;
};

// Returns "SIGINT" or "SIGTERM", or "signal N" for other numbers.
QString signalName(int signalNumber);

} // namespace demo
