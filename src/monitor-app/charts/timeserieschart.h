// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

#include <memory>

namespace mvent::monitor {

class SeriesHistory;
class TimeSeriesChartPrivate;

/*!
    Line chart of a SeriesHistory over time. It is the only class that uses Qt Charts, which
    Qt deprecated in 6.10, so a replacement only has to reimplement this widget.

    A change of the history schedules a redraw at most once per redrawInterval(), and a hidden
    chart redraws only when it is shown, so a fast refresh does not redraw each time. Colours
    come from the widget's palette and follow its changes.
*/
class TimeSeriesChart : public QWidget
{
    Q_OBJECT

public:
    static constexpr int DefaultRedrawIntervalMs = 500;

    /*! Creates a chart titled \a title whose value axis is labelled \a unit. */
    explicit TimeSeriesChart(const QString &title, const QString &unit, QWidget *parent = nullptr);
    ~TimeSeriesChart() override;

    /*! Shows \a history, which must outlive the chart or be replaced first; null clears it. */
    void setHistory(SeriesHistory *history);
    SeriesHistory *history() const;

    /*! Sets the shortest time between two redraws, in milliseconds. */
    void setRedrawInterval(int milliseconds);
    int redrawInterval() const;

    /*! Redraws now if the history changed since the last redraw. */
    void flush();

    /*! Returns the number of series drawn at the last redraw. */
    int seriesCount() const;
    /*! Returns how often the chart redrew, for tests of the throttle. */
    quint64 redrawCount() const;

protected:
    void changeEvent(QEvent *event) override;
    void showEvent(QShowEvent *event) override;

private:
    void scheduleRedraw();
    void redraw();
    void applyPalette();

    std::unique_ptr<TimeSeriesChartPrivate> const d;
};

} // namespace mvent::monitor
