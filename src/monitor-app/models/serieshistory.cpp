// SPDX-License-Identifier: MIT
#include "serieshistory.h"

#include <algorithm>

namespace mvent::monitor {

SeriesHistory::SeriesHistory(int maxSamples, QObject *parent)
    : QObject(parent)
    , m_maxSamples(std::max(2, maxSamples))
{
}

void SeriesHistory::append(qint64 timeMs, const QList<Value> &values)
{
    m_sampleTimes.append(timeMs);
    while (m_sampleTimes.size() > m_maxSamples) {
        m_sampleTimes.removeFirst();
    }
    const double firstKept = double(m_sampleTimes.first());

    for (const Value &value : values) {
        auto series = std::find_if(m_series.begin(), m_series.end(),
                                   [&](const Series &s) { return s.name == value.series; });
        if (series == m_series.end()) {
            m_series.append(Series{value.series, {}});
            series = m_series.end() - 1;
        }
        series->points.append(QPointF(double(timeMs), value.value));
    }

    for (Series &series : m_series) {
        while (!series.points.isEmpty() && series.points.first().x() < firstKept) {
            series.points.removeFirst();
        }
    }
    m_series.removeIf([](const Series &series) { return series.points.isEmpty(); });

    Q_EMIT changed();
}

void SeriesHistory::clear()
{
    m_sampleTimes.clear();
    m_series.clear();
    Q_EMIT changed();
}

int SeriesHistory::maxSamples() const
{
    return m_maxSamples;
}

QStringList SeriesHistory::seriesNames() const
{
    QStringList names;
    names.reserve(m_series.size());
    for (const Series &series : m_series) {
        names.append(series.name);
    }
    return names;
}

QList<QPointF> SeriesHistory::points(const QString &series) const
{
    for (const Series &candidate : m_series) {
        if (candidate.name == series) {
            return candidate.points;
        }
    }
    return {};
}

qint64 SeriesHistory::firstTimeMs() const
{
    return m_sampleTimes.isEmpty() ? 0 : m_sampleTimes.first();
}

qint64 SeriesHistory::lastTimeMs() const
{
    return m_sampleTimes.isEmpty() ? 0 : m_sampleTimes.last();
}

double SeriesHistory::maxValue() const
{
    double result = 0;
    for (const Series &series : m_series) {
        for (const QPointF &point : series.points) {
            result = std::max(result, point.y());
        }
    }
    return result;
}

} // namespace mvent::monitor
