// SPDX-License-Identifier: MIT
#include "clock_p.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

namespace mvent {

qint64 wallClockMs()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return qint64(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

qint64 coarseWallClockMs()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return qint64(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

qint64 monotonicNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

// Reads the state letter (field 3) and start time (field 22) of /proc/PID/stat.
bool readProcessStat(qint64 pid, char *state, quint64 *startTime)
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%lld/stat", static_cast<long long>(pid));
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    char buffer[1024];
    const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
    ::close(fd);
    if (n <= 0) {
        return false;
    }
    buffer[n] = '\0';

    // The command name in field 2 may contain spaces and parentheses, so count fields after
    // the last ')'. Field 3 follows it; the start time is field 22.
    const char *p = std::strrchr(buffer, ')');
    if (!p || p[1] != ' ') {
        return false;
    }
    *state = p[2];
    int field = 2;
    while (*p && field < 22) {
        if (*p == ' ') {
            ++field;
        }
        ++p;
    }
    if (field != 22) {
        return false;
    }
    *startTime = std::strtoull(p, nullptr, 10);
    return true;
}

} // namespace

quint64 processStartTime(qint64 pid)
{
    char state = 0;
    quint64 start = 0;
    return readProcessStat(pid, &state, &start) ? start : 0;
}

bool isProcessAlive(qint64 pid, quint64 startTime)
{
    if (pid <= 0) {
        return false;
    }
    if (::kill(pid_t(pid), 0) != 0 && errno == ESRCH) {
        return false;
    }
    char state = 0;
    quint64 actual = 0;
    if (!readProcessStat(pid, &state, &actual)) {
        return false;
    }
    // A killed process whose parent has not reaped it yet is a zombie: it holds no mapping
    // and no lock any more, so it counts as dead.
    return actual == startTime && state != 'Z' && state != 'X';
}

QString ttlProblem(qint64 ttlMs, const QString &subject)
{
    if (ttlMs < 0) {
        return QStringLiteral("TTL %1 ms for %2 is negative; use 0 for no expiry")
                .arg(ttlMs)
                .arg(subject);
    }
    if (ttlMs > MaxTtlMs) {
        return QStringLiteral("TTL %1 ms for %2 is longer than the maximum of %3 ms (100 years); "
                              "use 0 for no expiry")
                .arg(ttlMs)
                .arg(subject)
                .arg(MaxTtlMs);
    }
    return QString();
}

qint64 expiryFor(qint64 ttlMs)
{
    return ttlMs > 0 ? wallClockMs() + ttlMs : 0;
}

} // namespace mvent
