// SPDX-License-Identifier: MIT
#include "procfs.h"

#include <QByteArray>
#include <QFile>
#include <QList>

namespace demo {

namespace {

// Reads a /proc file in one go. QFile::readAll() works although the files report size 0.
std::optional<QByteArray> readProcFile(const char *path)
{
    QFile file(QString::fromLatin1(path));
    if (!file.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    return file.readAll();
}

} // namespace

std::optional<CpuTimes> readCpuTimes()
{
    const std::optional<QByteArray> text = readProcFile("/proc/stat");
    if (!text || !text->startsWith("cpu ")) {
        return std::nullopt;
    }
    const QList<QByteArray> fields = text->left(text->indexOf('\n')).simplified().split(' ');
    // fields: "cpu", user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice.
    // Guest time is already part of user and nice, so it is not added again.
    if (fields.size() < 9) {
        return std::nullopt;
    }
    CpuTimes times;
    for (int i = 1; i <= 8; ++i) {
        times.total += fields.at(i).toULongLong();
    }
    times.idle = fields.at(4).toULongLong() + fields.at(5).toULongLong();
    return times;
}

std::optional<MemoryInfo> readMemoryInfo()
{
    const std::optional<QByteArray> text = readProcFile("/proc/meminfo");
    if (!text) {
        return std::nullopt;
    }
    MemoryInfo info;
    for (const QByteArray &line : text->split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() < 2) {
            continue;
        }
        // Values are in kB, which proc(5) defines as KiB.
        if (fields.at(0) == "MemTotal:") {
            info.totalBytes = fields.at(1).toULongLong() * 1024;
        } else if (fields.at(0) == "MemAvailable:") {
            info.availableBytes = fields.at(1).toULongLong() * 1024;
        }
    }
    if (info.totalBytes == 0) {
        return std::nullopt;
    }
    return info;
}

std::optional<NetworkBytes> readNetworkBytes()
{
    const std::optional<QByteArray> text = readProcFile("/proc/net/dev");
    if (!text) {
        return std::nullopt;
    }
    NetworkBytes bytes;
    const QList<QByteArray> lines = text->split('\n');
    // The first two lines are column headers. Each interface line is "name: rx_bytes
    // rx_packets ... (8 receive fields) tx_bytes ...".
    for (qsizetype i = 2; i < lines.size(); ++i) {
        const qsizetype colon = lines.at(i).indexOf(':');
        if (colon < 0) {
            continue;
        }
        const QByteArray name = lines.at(i).left(colon).trimmed();
        const QList<QByteArray> fields = lines.at(i).mid(colon + 1).simplified().split(' ');
        if (name == "lo" || fields.size() < 9) {
            continue;
        }
        bytes.receivedBytes += fields.at(0).toULongLong();
        bytes.transmittedBytes += fields.at(8).toULongLong();
    }
    return bytes;
}

std::optional<LoadAverage> readLoadAverage()
{
    const std::optional<QByteArray> text = readProcFile("/proc/loadavg");
    if (!text) {
        return std::nullopt;
    }
    const QList<QByteArray> fields = text->simplified().split(' ');
    if (fields.size() < 3) {
        return std::nullopt;
    }
    return LoadAverage{ fields.at(0).toDouble(), fields.at(1).toDouble(), fields.at(2).toDouble() };
}

} // namespace demo
