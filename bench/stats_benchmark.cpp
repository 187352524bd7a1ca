// SPDX-License-Identifier: MIT
// Measures what monitoring adds per recorded call: counting an event into a stats record,
// counting a handler call with its duration (two CLOCK_MONOTONIC reads included), and a
// MonitoringTools::wrapHandler() call against calling the same callable directly.

#include "clock_p.h"
#include "statsblock_p.h"

#include <monitoringtools.h>
#include <sharedmemorypool.h>

#include <QCoreApplication>
#include <QTemporaryDir>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <vector>

using namespace mvent;

namespace {

// A stats block in private memory, laid out as in a segment.
struct PrivateBlock
{
    PrivateBlock()
        : memory(layout::statsBlockSize(8) + 64)
    {
        block = reinterpret_cast<layout::StatsBlockHeader *>(memory.data());
        block->magic = layout::StatsMagic;
        block->capacity = 8;
        writer = std::make_unique<StatsWriter>(block);
        record = writer->record(layout::StatsHandler, "handler");
    }
    std::vector<quint64> memory;
    layout::StatsBlockHeader *block;
    std::unique_ptr<StatsWriter> writer;
    layout::StatsRecord *record;
};

void countEvent(benchmark::State &state)
{
    PrivateBlock stats;
    const qint64 now = monotonicNs();
    for (auto _ : state) {
        StatsWriter::count(stats.record, 64, now);
    }
    state.SetItemsProcessed(state.iterations());
}

void countHandlerCall(benchmark::State &state)
{
    PrivateBlock stats;
    for (auto _ : state) {
        const qint64 started = monotonicNs();
        const qint64 finished = monotonicNs();
        StatsWriter::count(stats.record, 0, finished);
        StatsWriter::addDuration(stats.record, finished - started);
    }
    state.SetItemsProcessed(state.iterations());
}

int sink = 0;

void callDirectly(benchmark::State &state)
{
    const std::function<void(const QVariant &)> callable = [](const QVariant &) { ++sink; };
    const QVariant value(1);
    for (auto _ : state) {
        callable(value);
    }
    state.SetItemsProcessed(state.iterations());
}

void callWrapped(benchmark::State &state)
{
    SharedMemoryPool::Options options;
    options.size = 4 * 1024 * 1024;
    SharedMemoryPool pool(QStringLiteral("bench-stats"), options);
    MonitoringTools monitor(pool.name());
    const auto callable = monitor.wrapHandler(QStringLiteral("wrapped"),
                                              [](const QVariant &) { ++sink; });
    const QVariant value(1);
    for (auto _ : state) {
        callable(value);
    }
    state.SetItemsProcessed(state.iterations());
    pool.destroyPool();
}

} // namespace

BENCHMARK(countEvent);
BENCHMARK(countHandlerCall);
BENCHMARK(callDirectly);
BENCHMARK(callWrapped);

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QTemporaryDir runtimeDirectory;
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(runtimeDirectory.path()));
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
