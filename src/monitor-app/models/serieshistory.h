// SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QObject>
#include <QPointF>
#include <QStringList>

namespace mvent::monitor {

/*!
    Recent samples of a few named series for a chart: x is the sample time in milliseconds
    since the epoch, y the value. The history keeps the last maxSamples() sample times. A
    series keeps its points within that window and is dropped once all of them fall out of it,
    so a series that stops receiving values (an event that left the top N) disappears after
    maxSamples() refreshes.
*/
class SeriesHistory : public QObject
{
    Q_OBJECT

public:
    /*! One value of a series in a sample. */
    struct Value
    {
        QString series;
        double value = 0;
    };

    explicit SeriesHistory(int maxSamples = 300, QObject *parent = nullptr);

    /*! Adds one sample taken at \a timeMs with \a values, then emits changed(). */
    void append(qint64 timeMs, const QList<Value> &values);
    /*! Removes every series and sample, then emits changed(). */
    void clear();

    int maxSamples() const;
    /*! Returns the names of the series in the order they first received a value. */
    QStringList seriesNames() const;
    /*! Returns the points of \a series, oldest first; empty for an unknown name. */
    QList<QPointF> points(const QString &series) const;
    /*! Returns the time of the oldest kept sample, or 0 without samples. */
    qint64 firstTimeMs() const;
    /*! Returns the time of the newest sample, or 0 without samples. */
    qint64 lastTimeMs() const;
    /*! Returns the largest value of any kept point, or 0 without points. */
    double maxValue() const;

Q_SIGNALS:
    void changed();

private:
    struct Series
    {
        QString name;
        QList<QPointF> points;
    };

    int m_maxSamples;
    QList<qint64> m_sampleTimes;
    QList<Series> m_series;
};

} // namespace mvent::monitor
