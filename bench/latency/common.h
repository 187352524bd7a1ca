// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <cstdint>
#include <cstring>
#include <time.h>
#include <vector>

namespace bench {

// Size of every data message, and of every reply, credit and stop frame on stream transports.
constexpr int MessageSize = 64;

// Throughput flow control, applied to every transport in the same way: the sink grants the
// source credit for Window messages beyond what it has received, and renews the grant every
// CreditInterval messages. This keeps a ring-buffer transport (mvent's event log) from being
// overrun and a buffering one (QLocalSocket) from queueing the whole run in memory.
constexpr qint64 Window = 4096;
constexpr qint64 CreditInterval = 1024;
// A sink sends this credit value to tell the source to stop early.
constexpr qint64 StopCredit = -1;
// A throughput run ends after this long even if fewer messages than requested arrived.
constexpr qint64 MaxThroughputNs = 2000000000;

// Part that a child process plays in a run. The server end (Echo, Source) starts first and
// prints ReadyLine. The client end (Ping, Sink) measures and prints ResultPrefix.
enum class Role { Echo, Ping, Source, Sink };

struct RoleOptions
{
    Role role = Role::Echo;
    QString transport;
    QString name;             // pool, socket or service name unique to this run
    int cpu = -1;             // CPU to pin the process to, -1 for no pinning
    qint64 warmup = 2000;     // round trips before measuring
    qint64 roundTrips = 20000;
    qint64 messages = 2000000; // throughput run length
};

inline constexpr char ReadyLine[] = "READY";
inline constexpr char ResultPrefix[] = "RESULT";

inline qint64 nowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline void writeCounter(char *frame, qint64 value)
{
    std::memcpy(frame, &value, sizeof value);
}

inline qint64 readCounter(const char *frame)
{
    qint64 value;
    std::memcpy(&value, frame, sizeof value);
    return value;
}

// Returns the --role argument value of role.
QString roleName(Role role);

// Signals the orchestrator that the server end accepts connections or messages.
void printReady();
// Prints the one-way latency (half of each round trip) of the measured round trips.
void printLatencyResult(std::vector<qint64> &roundTripNs);
// Prints the throughput of the sink. lost is the number of messages the transport dropped.
void printThroughputResult(qint64 messages, qint64 elapsedNs, qint64 lost = 0);
// Prints an error on stderr, prefixed with the role and transport, and returns 1.
int fail(const RoleOptions &options, const QString &message);

// Per-transport entry points. Each returns the process exit code.
int runMvent(const RoleOptions &options);
int runLocalSocket(const RoleOptions &options);
#ifdef MVENT_BENCH_HAVE_REMOTEOBJECTS
int runRemoteObjects(const RoleOptions &options);
#endif
#ifdef MVENT_BENCH_HAVE_ZMQ
int runZmq(const RoleOptions &options);
#endif
#ifdef MVENT_BENCH_HAVE_ICEORYX
int runIceoryx(const RoleOptions &options);
#endif
int runFutex(const RoleOptions &options);

} // namespace bench
