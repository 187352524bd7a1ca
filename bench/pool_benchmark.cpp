// SPDX-License-Identifier: MIT
//
// Throughput of SharedMemoryPool::set() and ::value() next to a QHash<QString, QByteArray>
// under a QMutex in the same process, which is the ceiling for a key/value store that needs
// no shared memory. After the run, a table lists operations per second of both and their ratio.

#include "sharedmemorypool.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QMutex>
#include <QTemporaryDir>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include <unistd.h>
#include <vector>

namespace {

constexpr int KeyCount = 1000;

// One kind of value: the prefix keeps the keys of each kind apart in the shared pool.
struct ValueKind
{
    const char *name;
    const char *keyPrefix;
    QVariant value;
};

std::vector<ValueKind> valueKinds()
{
    return {
        {"bytes64", "b64", QVariant(QByteArray(64, 'v'))},
        {"bytes4096", "b4k", QVariant(QByteArray(4096, 'v'))},
        // A QString is stored as CBOR, so this case includes encoding and decoding.
        {"string64", "s64", QVariant(QString(64, QLatin1Char('v')))},
    };
}

QStringList makeKeys(const char *prefix)
{
    QStringList keys;
    keys.reserve(KeyCount);
    for (int i = 0; i < KeyCount; ++i) {
        keys.append(QStringLiteral("%1-%2").arg(QLatin1String(prefix)).arg(i, 4, 10, QLatin1Char('0')));
    }
    return keys;
}

// The in-process baseline. A QString value is kept as UTF-8 bytes, so its conversion cost is
// the baseline's counterpart of the CBOR encoding in the pool.
class LockedHash
{
public:
    void set(const QString &key, const QVariant &value)
    {
        QByteArray bytes = value.typeId() == QMetaType::QString ? value.toString().toUtf8()
                                                                : value.toByteArray();
        QMutexLocker locker(&m_mutex);
        m_hash.insert(key, std::move(bytes));
    }

    QVariant value(const QString &key, bool asString) const
    {
        QByteArray bytes;
        {
            QMutexLocker locker(&m_mutex);
            bytes = m_hash.value(key);
        }
        return asString ? QVariant(QString::fromUtf8(bytes)) : QVariant(bytes);
    }

private:
    mutable QMutex m_mutex;
    QHash<QString, QByteArray> m_hash;
};

// Created in main() before the benchmarks run and shared by all their threads.
mvent::SharedMemoryPool *g_pool = nullptr;
LockedHash *g_hash = nullptr;

// Each thread starts at its own point of the key set, so two threads rarely use the same key
// at the same moment.
int firstKeyIndex(const benchmark::State &state)
{
    return (state.thread_index() * KeyCount / std::max(state.threads(), 1)) % KeyCount;
}

void poolSet(benchmark::State &state, const ValueKind &kind, const QStringList &keys)
{
    int i = firstKeyIndex(state);
    for (auto _ : state) {
        if (!g_pool->set(keys[i], kind.value)) {
            state.SkipWithError(qPrintable(g_pool->errorString()));
            break;
        }
        i = i + 1 == KeyCount ? 0 : i + 1;
    }
    state.SetItemsProcessed(state.iterations());
}

void poolValue(benchmark::State &state, const ValueKind &, const QStringList &keys)
{
    int i = firstKeyIndex(state);
    for (auto _ : state) {
        QVariant value = g_pool->value(keys[i]);
        benchmark::DoNotOptimize(value);
        i = i + 1 == KeyCount ? 0 : i + 1;
    }
    state.SetItemsProcessed(state.iterations());
}

void hashSet(benchmark::State &state, const ValueKind &kind, const QStringList &keys)
{
    int i = firstKeyIndex(state);
    for (auto _ : state) {
        g_hash->set(keys[i], kind.value);
        i = i + 1 == KeyCount ? 0 : i + 1;
    }
    state.SetItemsProcessed(state.iterations());
}

void hashValue(benchmark::State &state, const ValueKind &kind, const QStringList &keys)
{
    const bool asString = kind.value.typeId() == QMetaType::QString;
    int i = firstKeyIndex(state);
    for (auto _ : state) {
        QVariant value = g_hash->value(keys[i], asString);
        benchmark::DoNotOptimize(value);
        i = i + 1 == KeyCount ? 0 : i + 1;
    }
    state.SetItemsProcessed(state.iterations());
}

using BenchmarkFunction = void (*)(benchmark::State &, const ValueKind &, const QStringList &);

// Registers "<backend>/<operation>/<kind>" with one and two threads. Wall-clock time is the
// base of items_per_second, so the two-thread figure is the combined throughput.
void registerCase(const char *backend, const char *operation, BenchmarkFunction function,
                  const ValueKind &kind, const QStringList &keys)
{
    const std::string name = std::string(backend) + '/' + operation + '/' + kind.name;
    benchmark::RegisterBenchmark(name.c_str(), function, kind, keys)->Threads(1)->Threads(2)->UseRealTime();
}

// Console output as usual, plus items_per_second of every run for the summary table.
class CollectingReporter : public benchmark::ConsoleReporter
{
public:
    // Colours only on a terminal, so that redirected output stays plain text.
    CollectingReporter()
        : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular)
    {
    }

    struct CaseKey
    {
        std::string operationAndKind; // "set/bytes64"
        int64_t threads;
        bool operator<(const CaseKey &other) const
        {
            return std::tie(operationAndKind, threads) < std::tie(other.operationAndKind, other.threads);
        }
    };
    // Backend name to the rates of its repetitions.
    using Rates = std::map<std::string, std::vector<double>>;

    void ReportRuns(const std::vector<Run> &reports) override
    {
        for (const Run &run : reports) {
            if (run.run_type != Run::RT_Iteration || run.error_occurred) {
                continue;
            }
            const auto rate = run.counters.find("items_per_second");
            const std::string &name = run.run_name.function_name;
            const std::size_t slash = name.find('/');
            if (rate == run.counters.end() || slash == std::string::npos) {
                continue;
            }
            m_results[{name.substr(slash + 1), run.threads}][name.substr(0, slash)].push_back(rate->second.value);
        }
        ConsoleReporter::ReportRuns(reports);
    }

    void printSummary() const
    {
        std::printf("\n%-20s %7s %16s %18s %7s\n", "case", "threads", "mvent ops/s",
                    "QHash+QMutex ops/s", "ratio");
        for (const auto &[key, rates] : m_results) {
            const double pool = median(rates, "mvent");
            const double hash = median(rates, "qhash");
            std::printf("%-20s %7lld %16.0f %18.0f %7.3f\n", key.operationAndKind.c_str(),
                        static_cast<long long>(key.threads), pool, hash, hash > 0 ? pool / hash : 0.0);
        }
    }

private:
    // With --benchmark_repetitions each case has several runs, and their median is robust to
    // one disturbed run. Returns 0 when the backend did not run, for example after a filter.
    static double median(const Rates &rates, const std::string &backend)
    {
        const auto it = rates.find(backend);
        if (it == rates.end() || it->second.empty()) {
            return 0;
        }
        std::vector<double> values = it->second;
        std::sort(values.begin(), values.end());
        const std::size_t middle = values.size() / 2;
        return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    std::map<CaseKey, Rates> m_results;
};

} // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 2;
    }
    // The pool creates a doorbell socket notifier and a maintenance timer, which need an
    // application object.
    QCoreApplication app(argc, argv);

    // Keep the benchmark pool out of the user's runtime directory. A directory in /dev/shm keeps
    // the segment file in memory, as the default runtime directories do.
    std::unique_ptr<QTemporaryDir> runtimeDir;
    if (qEnvironmentVariableIsEmpty("MVENT_RUNTIME_DIR")) {
        const QFileInfo shm(QStringLiteral("/dev/shm"));
        runtimeDir = shm.isDir() && shm.isWritable()
                ? std::make_unique<QTemporaryDir>(QStringLiteral("/dev/shm/mvent-bench-XXXXXX"))
                : std::make_unique<QTemporaryDir>();
        if (!runtimeDir->isValid()) {
            std::fprintf(stderr, "mvent-bench-pool: failed to create a temporary runtime directory: %s\n",
                         qPrintable(runtimeDir->errorString()));
            return 1;
        }
        qputenv("MVENT_RUNTIME_DIR", QFile::encodeName(runtimeDir->path()));
    }

    const std::vector<ValueKind> kinds = valueKinds();
    mvent::SharedMemoryPool::Options options;
    options.openMode = mvent::SharedMemoryPool::CreateOnly;
    options.size = 64 * 1024 * 1024;
    options.maxEntries = 4096; // room for KeyCount keys of every kind
    const QString poolName = QStringLiteral("mvent-bench-%1").arg(QCoreApplication::applicationPid());
    mvent::SharedMemoryPool pool(poolName, options);
    if (!pool.isAttached()) {
        std::fprintf(stderr, "mvent-bench-pool: failed to create pool %s: %s\n", qPrintable(poolName),
                     qPrintable(pool.errorString()));
        return 1;
    }
    LockedHash hash;
    g_pool = &pool;
    g_hash = &hash;

    // Both stores hold every key before the first run, so value() always finds its key and
    // set() always replaces an existing value.
    std::vector<QStringList> keysPerKind;
    for (const ValueKind &kind : kinds) {
        keysPerKind.push_back(makeKeys(kind.keyPrefix));
        for (const QString &key : keysPerKind.back()) {
            if (!pool.set(key, kind.value)) {
                std::fprintf(stderr, "mvent-bench-pool: failed to fill pool %s: %s\n",
                             qPrintable(poolName), qPrintable(pool.errorString()));
                pool.destroyPool();
                return 1;
            }
            hash.set(key, kind.value);
        }
    }
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        registerCase("mvent", "set", poolSet, kinds[i], keysPerKind[i]);
        registerCase("qhash", "set", hashSet, kinds[i], keysPerKind[i]);
        registerCase("mvent", "value", poolValue, kinds[i], keysPerKind[i]);
        registerCase("qhash", "value", hashValue, kinds[i], keysPerKind[i]);
    }

    CollectingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    reporter.printSummary();

    if (!pool.destroyPool()) {
        std::fprintf(stderr, "mvent-bench-pool: failed to remove pool %s: %s\n", qPrintable(poolName),
                     qPrintable(pool.errorString()));
        return 1;
    }
    return 0;
}
