// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

#include <prometheus/metric_family.h>

#include <memory>
#include <vector>

namespace mvent {
class MonitoringTools;
}

namespace mvent::cli {

class PoolMetricFamilies;

/*!
    Prometheus metrics of one or more pools, taken from MonitoringTools once when a pool is
    added. Metric names start with "mvent_" and carry the label "pool". Monotonic counts are
    counters and other figures gauges. Latency and handler duration are summaries with the
    quantiles 0.5, 0.95 and 0.99, because the pool stores histograms whose percentiles
    MonitoringTools computes already.
*/
class PoolMetrics
{
public:
    PoolMetrics();
    ~PoolMetrics();

    /*! Adds the figures of the pool that \a tools is attached to, with mvent_pool_up 1. */
    void addPool(const MonitoringTools &tools);
    /*! Adds mvent_pool_up 0 for \a poolName, which could not be opened. */
    void addUnavailablePool(const QString &poolName);

    /*! Returns the metric families of every added pool. */
    std::vector<prometheus::MetricFamily> collect() const;

private:
    std::unique_ptr<PoolMetricFamilies> const m_families;
};

/*! Returns \a families in the Prometheus text exposition format 0.0.4. */
QByteArray prometheusText(const std::vector<prometheus::MetricFamily> &families);

} // namespace mvent::cli
