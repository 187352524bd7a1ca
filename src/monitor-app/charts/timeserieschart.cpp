// SPDX-License-Identifier: MIT
#include "timeserieschart.h"

#include "serieshistory.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QEvent>
#include <QHash>
#include <QLegendMarker>
#include <QLineSeries>
#include <QPointer>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

namespace mvent::monitor {

class TimeSeriesChartPrivate
{
public:
    QChart *chart = nullptr;
    QChartView *view = nullptr;
    QDateTimeAxis *timeAxis = nullptr;
    QValueAxis *valueAxis = nullptr;
    QHash<QString, QLineSeries *> series;
    QPointer<SeriesHistory> history;
    QTimer redrawTimer;
    bool dirty = false;
    quint64 redrawCount = 0;
};

namespace {

// Returns the colour of series number index: the palette's highlight colour, turned around
// the hue circle by the golden angle per series so neighbours differ and dark and light
// palettes keep their own brightness.
QColor seriesColor(const QPalette &palette, int index)
{
    const QColor base = palette.color(QPalette::Highlight).toHsv();
    const int hue = (std::max(0, base.hsvHue()) + index * 137) % 360;
    const int saturation = std::max(base.hsvSaturation(), 120);
    const int value = std::max(base.value(), 160);
    return QColor::fromHsv(hue, saturation, value);
}

} // namespace

TimeSeriesChart::TimeSeriesChart(const QString &title, const QString &unit, QWidget *parent)
    : QWidget(parent)
    , d(new TimeSeriesChartPrivate)
{
    d->chart = new QChart;
    d->chart->setTitle(title);
    d->chart->legend()->setAlignment(Qt::AlignBottom);
    d->chart->setMargins(QMargins(4, 4, 4, 4));
    // Points are replaced every refresh, so animating them would redraw continuously.
    d->chart->setAnimationOptions(QChart::NoAnimation);

    d->timeAxis = new QDateTimeAxis;
    d->timeAxis->setFormat(QStringLiteral("hh:mm:ss"));
    d->timeAxis->setTickCount(5);
    d->chart->addAxis(d->timeAxis, Qt::AlignBottom);

    d->valueAxis = new QValueAxis;
    d->valueAxis->setTitleText(unit);
    d->valueAxis->setLabelFormat(QStringLiteral("%.4g"));
    d->valueAxis->setRange(0, 1);
    d->chart->addAxis(d->valueAxis, Qt::AlignLeft);

    d->view = new QChartView(d->chart);
    d->view->setRenderHint(QPainter::Antialiasing);
    d->view->setMinimumHeight(160);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(d->view);

    d->redrawTimer.setSingleShot(true);
    d->redrawTimer.setInterval(DefaultRedrawIntervalMs);
    connect(&d->redrawTimer, &QTimer::timeout, this, &TimeSeriesChart::redraw);

    applyPalette();
}

TimeSeriesChart::~TimeSeriesChart() = default;

void TimeSeriesChart::setHistory(SeriesHistory *history)
{
    if (d->history) {
        disconnect(d->history, nullptr, this, nullptr);
    }
    d->history = history;
    if (history) {
        connect(history, &SeriesHistory::changed, this, &TimeSeriesChart::scheduleRedraw);
    }
    d->dirty = true;
    redraw();
}

SeriesHistory *TimeSeriesChart::history() const
{
    return d->history;
}

void TimeSeriesChart::setRedrawInterval(int milliseconds)
{
    d->redrawTimer.setInterval(std::max(0, milliseconds));
}

int TimeSeriesChart::redrawInterval() const
{
    return d->redrawTimer.interval();
}

void TimeSeriesChart::flush()
{
    d->redrawTimer.stop();
    redraw();
}

int TimeSeriesChart::seriesCount() const
{
    return int(d->series.size());
}

quint64 TimeSeriesChart::redrawCount() const
{
    return d->redrawCount;
}

void TimeSeriesChart::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        applyPalette();
    }
}

void TimeSeriesChart::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (d->dirty) {
        scheduleRedraw();
    }
}

void TimeSeriesChart::scheduleRedraw()
{
    d->dirty = true;
    // A running timer already covers this change. Restarting it would postpone the redraw for
    // as long as changes keep coming.
    if (isVisible() && !d->redrawTimer.isActive()) {
        d->redrawTimer.start();
    }
}

void TimeSeriesChart::redraw()
{
    if (!d->dirty) {
        return;
    }
    d->dirty = false;
    ++d->redrawCount;

    const QStringList names = d->history ? d->history->seriesNames() : QStringList();
    for (auto it = d->series.begin(); it != d->series.end();) {
        if (names.contains(it.key())) {
            ++it;
            continue;
        }
        d->chart->removeSeries(it.value());
        delete it.value();
        it = d->series.erase(it);
    }

    const QPalette palette = this->palette();
    for (const QString &name : names) {
        QLineSeries *series = d->series.value(name);
        if (!series) {
            series = new QLineSeries;
            series->setName(name);
            // QLineSeries uses OpenGL only when asked, and offscreen tests have none.
            series->setUseOpenGL(false);
            d->chart->addSeries(series);
            series->attachAxis(d->timeAxis);
            series->attachAxis(d->valueAxis);
            d->series.insert(name, series);
        }
        series->replace(d->history->points(name));
    }

    // Colours follow the order of the history, so a series keeps its colour while it exists.
    for (int i = 0; i < names.size(); ++i) {
        QPen pen(seriesColor(palette, i));
        pen.setWidthF(1.5);
        d->series.value(names.at(i))->setPen(pen);
    }

    const bool hasSamples = d->history && d->history->lastTimeMs() > 0;
    const qint64 last = hasSamples ? d->history->lastTimeMs() : QDateTime::currentMSecsSinceEpoch();
    // Show at least a minute, so the first samples do not stretch across the whole width.
    qint64 first = last - 60000;
    if (hasSamples) {
        first = std::min(first, d->history->firstTimeMs());
    }
    d->timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(first),
                          QDateTime::fromMSecsSinceEpoch(last));
    const double maxValue = d->history ? d->history->maxValue() : 0.0;
    d->valueAxis->setRange(0, maxValue > 0 ? maxValue * 1.1 : 1.0);
    d->valueAxis->applyNiceNumbers();
}

void TimeSeriesChart::applyPalette()
{
    const QPalette palette = this->palette();
    const QColor text = palette.color(QPalette::WindowText);
    const QColor grid = palette.color(QPalette::Mid);

    d->chart->setBackgroundBrush(palette.brush(QPalette::Base));
    d->chart->setPlotAreaBackgroundVisible(false);
    d->chart->setTitleBrush(text);
    d->chart->legend()->setLabelColor(text);
    for (QAbstractAxis *axis : {static_cast<QAbstractAxis *>(d->timeAxis),
                                static_cast<QAbstractAxis *>(d->valueAxis)}) {
        axis->setLabelsColor(text);
        axis->setTitleBrush(text);
        axis->setLinePenColor(grid);
        axis->setGridLineColor(grid);
    }
    d->view->setBackgroundBrush(palette.brush(QPalette::Window));

    d->dirty = true;
    scheduleRedraw();
}

} // namespace mvent::monitor
