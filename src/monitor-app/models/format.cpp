// SPDX-License-Identifier: MIT
#include "format.h"

#include <QLocale>

#include <cmath>

namespace mvent::monitor {

namespace {

// The dashboard shows figures in one fixed format, whatever the user's locale, so that tests
// and screenshots read the same everywhere.
QLocale numberLocale()
{
    QLocale locale = QLocale::c();
    locale.setNumberOptions(QLocale::DefaultNumberOptions);
    return locale;
}

QString formatScaled(double value, const QString &unit)
{
    const int decimals = value >= 100 ? 0 : (value >= 10 ? 1 : 2);
    return numberLocale().toString(value, 'f', decimals) + QLatin1Char(' ') + unit;
}

} // namespace

QString formatBytes(qint64 bytes)
{
    if (bytes < 1024) {
        return QStringLiteral("%1 B").arg(bytes);
    }
    const double kib = double(bytes) / 1024.0;
    if (kib < 1024) {
        return formatScaled(kib, QStringLiteral("KiB"));
    }
    const double mib = kib / 1024.0;
    if (mib < 1024) {
        return formatScaled(mib, QStringLiteral("MiB"));
    }
    return formatScaled(mib / 1024.0, QStringLiteral("GiB"));
}

QString formatDuration(qint64 nanoseconds)
{
    if (nanoseconds < 1000) {
        return QStringLiteral("%1 ns").arg(nanoseconds);
    }
    const double microseconds = double(nanoseconds) / 1e3;
    if (microseconds < 1000) {
        return formatScaled(microseconds, QStringLiteral("µs"));
    }
    const double milliseconds = microseconds / 1e3;
    if (milliseconds < 1000) {
        return formatScaled(milliseconds, QStringLiteral("ms"));
    }
    return formatScaled(milliseconds / 1e3, QStringLiteral("s"));
}

QString formatRate(double perSecond)
{
    if (perSecond <= 0 || !std::isfinite(perSecond)) {
        return QStringLiteral("0");
    }
    const int decimals = perSecond >= 100 ? 0 : (perSecond >= 10 ? 1 : 2);
    return numberLocale().toString(perSecond, 'f', decimals) + QStringLiteral("/s");
}

QString formatPercent(double fraction)
{
    return numberLocale().toString(fraction * 100.0, 'f', 1) + QStringLiteral(" %");
}

QString formatCount(quint64 count)
{
    return numberLocale().toString(count);
}

} // namespace mvent::monitor
