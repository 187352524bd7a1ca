// SPDX-License-Identifier: MIT
#include "terminationsignals.h"

#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace demo {

namespace {

// Write end of the pipe of the one TerminationSignals object, or -1.
volatile sig_atomic_t pipeWriteFd = -1;
// Process that installed the handler.
volatile sig_atomic_t ownerPid = 0;

void onTerminationSignal(int signalNumber)
{
    // QProcess forks before it runs exec(), and a signal in between runs this handler in the
    // forked child. That child must not write to the parent's pipe, so the signal gets its
    // default action there instead.
    if (::getpid() != ownerPid) {
        ::signal(signalNumber, SIG_DFL);
        ::raise(signalNumber);
        return;
    }
    const int savedErrno = errno;
    const unsigned char byte = static_cast<unsigned char>(signalNumber);
    // If the pipe is full, earlier signals are still unread and the loop wakes up anyway.
    [[maybe_unused]] const ssize_t written = ::write(pipeWriteFd, &byte, 1);
    errno = savedErrno;
}

} // namespace

TerminationSignals::TerminationSignals(QObject *parent)
    : QObject(parent)
{
    // O_CLOEXEC keeps the pipe out of the child processes that QProcess starts.
    if (::pipe2(m_pipe.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
        m_error = QStringLiteral("creating the signal pipe failed: %1")
                          .arg(QString::fromLocal8Bit(std::strerror(errno)));
        m_pipe = { -1, -1 };
        return;
    }
    pipeWriteFd = m_pipe[1];
    ownerPid = ::getpid();
    m_notifier = new QSocketNotifier(m_pipe[0], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &TerminationSignals::readPipe);

    struct sigaction action = {};
    action.sa_handler = onTerminationSignal;
    sigemptyset(&action.sa_mask);
    // SA_RESTART resumes system calls that the signal interrupts, so Qt and the library see
    // no EINTR from them.
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

TerminationSignals::~TerminationSignals()
{
    if (!isValid()) {
        return;
    }
    // Ignored rather than restored: this runs as the process ends, after its report. Ctrl-C
    // reaches every process of the group and the parent then sends SIGTERM as well, and that
    // late signal must not turn a clean exit into a kill.
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGINT, &ignore, nullptr);
    ::sigaction(SIGTERM, &ignore, nullptr);
    pipeWriteFd = -1;
    delete m_notifier;
    ::close(m_pipe[0]);
    ::close(m_pipe[1]);
}

void TerminationSignals::readPipe()
{
    unsigned char bytes[16];
    ssize_t count = 0;
    while ((count = ::read(m_pipe[0], bytes, sizeof bytes)) > 0) {
        for (ssize_t i = 0; i < count; ++i) {
            Q_EMIT received(int(bytes[i]));
        }
    }
}

QString signalName(int signalNumber)
{
    switch (signalNumber) {
    case SIGINT:
        return QStringLiteral("SIGINT");
    case SIGTERM:
        return QStringLiteral("SIGTERM");
    default:
        return QStringLiteral("signal %1").arg(signalNumber);
    }
}

} // namespace demo
