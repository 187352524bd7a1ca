// SPDX-License-Identifier: MIT
#pragma once

#include <QtGlobal>

#include <optional>

namespace demo {

// Counters of the first "cpu" line of /proc/stat, in clock ticks since boot.
struct CpuTimes
{
    quint64 total = 0; // user + nice + system + idle + iowait + irq + softirq + steal
    quint64 idle = 0;  // idle + iowait
};

// MemTotal and MemAvailable of /proc/meminfo, in bytes.
struct MemoryInfo
{
    quint64 totalBytes = 0;
    quint64 availableBytes = 0;
};

// Byte counters of /proc/net/dev summed over every interface except lo.
struct NetworkBytes
{
    quint64 receivedBytes = 0;
    quint64 transmittedBytes = 0;
};

// The 1, 5 and 15 minute load averages of /proc/loadavg.
struct LoadAverage
{
    double oneMinute = 0;
    double fiveMinutes = 0;
    double fifteenMinutes = 0;
};

// Each reader returns std::nullopt if the file is missing or not in the format of proc(5).
std::optional<CpuTimes> readCpuTimes();
std::optional<MemoryInfo> readMemoryInfo();
std::optional<NetworkBytes> readNetworkBytes();
std::optional<LoadAverage> readLoadAverage();

} // namespace demo
