// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace mvent::monitor {

/*! Formats \a bytes with a binary unit: "512 B", "1.5 KiB", "16.0 MiB". */
QString formatBytes(qint64 bytes);
/*! Formats a duration of \a nanoseconds in ns, µs, ms or s with three significant digits. */
QString formatDuration(qint64 nanoseconds);
/*! Formats \a perSecond events per second: "0", "0.25/s", "1,234/s". */
QString formatRate(double perSecond);
/*! Formats \a fraction in [0, 1] as a percentage with one decimal: "12.5 %". */
QString formatPercent(double fraction);
/*! Formats a counter with thousands separators of the C locale: "1,234,567". */
QString formatCount(quint64 count);

} // namespace mvent::monitor
