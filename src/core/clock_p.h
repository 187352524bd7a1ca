// SPDX-License-Identifier: MIT
#pragma once

#include "mvent_core_export.h"

#include <QString>

namespace mvent {

// Wall-clock milliseconds since the Unix epoch; expiry times in the segment use this clock so
// that every process, and other languages, agree on them.
MVENT_CORE_EXPORT qint64 wallClockMs();
// CLOCK_REALTIME_COARSE in milliseconds: cheaper, a few milliseconds behind at most; for
// timestamps that are only shown, never for expiry.
MVENT_CORE_EXPORT qint64 coarseWallClockMs();
// CLOCK_MONOTONIC in nanoseconds; system-wide on Linux, so comparable across processes.
MVENT_CORE_EXPORT qint64 monotonicNs();
// Start time of process pid in clock ticks since boot (field 22 of /proc/PID/stat), or 0 if
// the process does not exist. Pairs with the pid to detect pid reuse.
MVENT_CORE_EXPORT quint64 processStartTime(qint64 pid);
// Longest TTL accepted, 100 years in milliseconds; longer ones would overflow the expiry time.
constexpr qint64 MaxTtlMs = 100LL * 365 * 24 * 3600 * 1000;
// Returns why ttlMs is not a valid TTL for subject (for example "key 'k'"), or an empty string.
MVENT_CORE_EXPORT QString ttlProblem(qint64 ttlMs, const QString &subject);
// Returns the expiry time in wall-clock milliseconds for a valid ttlMs, or 0 for no expiry.
MVENT_CORE_EXPORT qint64 expiryFor(qint64 ttlMs);

// True if pid runs and started at startTime.
MVENT_CORE_EXPORT bool isProcessAlive(qint64 pid, quint64 startTime);

} // namespace mvent
