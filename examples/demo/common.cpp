// SPDX-License-Identifier: MIT
#include "common.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace demo {

qint64 monotonicNs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000000000 + now.tv_nsec;
}

qint64 percentile(QList<qint64> samples, double q)
{
    if (samples.isEmpty()) {
        return 0;
    }
    const qsizetype rank = qBound(qsizetype(1), qsizetype(std::ceil(q * samples.size())),
                                  samples.size());
    const auto nth = samples.begin() + (rank - 1);
    std::nth_element(samples.begin(), nth, samples.end());
    return *nth;
}

void printLine(const QString &line)
{
    const QByteArray bytes = line.toUtf8() + '\n';
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
    std::fflush(stdout);
}

void printReport(const QVariantMap &report)
{
    const QByteArray json = QJsonDocument(QJsonObject::fromVariantMap(report))
                                    .toJson(QJsonDocument::Compact);
    printLine(QLatin1String(ReportPrefix) + QString::fromUtf8(json));
}

QString formatBytes(double bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int unit = 0;
    while (std::abs(bytes) >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    return QStringLiteral("%1 %2").arg(bytes, 0, 'f', unit == 0 ? 0 : 1).arg(QLatin1String(units[unit]));
}

} // namespace demo
