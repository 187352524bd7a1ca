// SPDX-License-Identifier: MIT
// The process-wide maintenance thread: tasks run repeatedly, remove() waits for a running
// call, and tasks come and go from many threads without a hang.

#include "maintenance_p.h"

#include <QTest>
#include <QThread>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace mvent;

namespace {

// Waits without an event loop: the maintenance thread needs none.
template<typename Condition>
bool waitUntil(Condition condition, int timeoutMs = 20000)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        QThread::msleep(10);
    }
    return true;
}

} // namespace

class tst_Maintenance : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void taskRunsRepeatedly();
    void removeWaitsForRunningTask();
    void removedTaskRunsNoMore();
    void tasksComeAndGoFromManyThreads();
};

void tst_Maintenance::taskRunsRepeatedly()
{
    std::atomic<int> calls = 0;
    const int id = Maintenance::add([&calls] { ++calls; });
    QVERIFY(id > 0);
    QVERIFY2(waitUntil([&] { return calls.load() >= 2; }), "the task did not run twice");
    Maintenance::remove(id);
}

void tst_Maintenance::removeWaitsForRunningTask()
{
    std::atomic<bool> started = false;
    std::atomic<bool> finished = false;
    const int id = Maintenance::add([&] {
        started = true;
        QThread::msleep(300);
        finished = true;
    });
    QVERIFY2(waitUntil([&] { return started.load(); }), "the task never started");
    Maintenance::remove(id);
    // The task uses this frame's variables, so remove() must not return while it runs.
    QVERIFY(finished.load());
}

void tst_Maintenance::removedTaskRunsNoMore()
{
    std::atomic<int> removedCalls = 0;
    std::atomic<int> remainingCalls = 0;
    const int removed = Maintenance::add([&removedCalls] { ++removedCalls; });
    const int remaining = Maintenance::add([&remainingCalls] { ++remainingCalls; });
    Maintenance::remove(removed);
    const int before = removedCalls.load();
    // Two more ticks of the remaining task prove that the thread went on without the other.
    const int remainingBefore = remainingCalls.load();
    QVERIFY(waitUntil([&] { return remainingCalls.load() >= remainingBefore + 2; }));
    QCOMPARE(removedCalls.load(), before);
    Maintenance::remove(remaining);
}

void tst_Maintenance::tasksComeAndGoFromManyThreads()
{
    constexpr int Threads = 8;
    constexpr int Rounds = 200;
    std::atomic<int> calls = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&calls] {
            for (int round = 0; round < Rounds; ++round) {
                const int id = Maintenance::add([&calls] { ++calls; });
                if (round % 50 == 0) {
                    QThread::msleep(5);
                }
                Maintenance::remove(id);
            }
        });
    }
    for (std::thread &thread : threads) {
        thread.join();
    }
    // A task added after the churn still runs, because the thread restarts after stopping.
    std::atomic<int> later = 0;
    const int id = Maintenance::add([&later] { ++later; });
    QVERIFY2(waitUntil([&] { return later.load() >= 1; }), "no tick after the churn");
    Maintenance::remove(id);
}

QTEST_GUILESS_MAIN(tst_Maintenance)
#include "tst_maintenance.moc"
