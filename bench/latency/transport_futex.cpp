// SPDX-License-Identifier: MIT
//
// The floor: two processes on one POSIX shared memory object, blocking with FUTEX_WAIT and
// waking with FUTEX_WAKE, with no spinning. Latency is a ping-pong on one counter with a wake
// call every time. Throughput uses a single-producer single-consumer ring of Window slots, and
// each side calls FUTEX_WAKE only when the other one announced that it sleeps. The ring's
// capacity is the same flow-control window that the other transports get from credit messages.

#include "common.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace bench {

namespace {

using Word = std::atomic<quint32>;
static_assert(sizeof(Word) == sizeof(quint32) && Word::is_always_lock_free);

constexpr quint32 RingCapacity = quint32(Window);

struct SharedPage
{
    // Ping-pong: 2i+1 once request i is written, 2i+2 once its reply is written.
    alignas(64) Word state;
    alignas(64) char request[MessageSize];
    alignas(64) char reply[MessageSize];

    // Ring: head counts messages written, tail messages read; both wrap at 2^32.
    alignas(64) Word head;
    Word consumerWaiting;
    alignas(64) Word tail;
    Word producerWaiting;
    Word stopped;  // set by the consumer to end the run early
    alignas(64) char slots[RingCapacity][MessageSize];
};

// The page is shared between processes, so the futex calls must not use FUTEX_PRIVATE_FLAG.
void futexWait(Word &word, quint32 expected, const timespec *timeout = nullptr)
{
    syscall(SYS_futex, reinterpret_cast<quint32 *>(&word), FUTEX_WAIT, expected, timeout,
            nullptr, 0);
}

void futexWake(Word &word)
{
    syscall(SYS_futex, reinterpret_cast<quint32 *>(&word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Maps the shared memory object; the server creates it, and the orchestrator removes it.
SharedPage *mapPage(const RoleOptions &options, bool create, QString *error)
{
    const QByteArray path = '/' + options.name.toLocal8Bit();
    const int fd = shm_open(path.constData(), create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR, 0600);
    if (fd < 0) {
        *error = QStringLiteral("shm_open %1 failed: %2")
                     .arg(QString::fromLocal8Bit(path), QString::fromLocal8Bit(strerror(errno)));
        return nullptr;
    }
    if (create && ftruncate(fd, sizeof(SharedPage)) != 0) {
        *error = QStringLiteral("ftruncate failed: %1").arg(QString::fromLocal8Bit(strerror(errno)));
        close(fd);
        return nullptr;
    }
    void *address = mmap(nullptr, sizeof(SharedPage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (address == MAP_FAILED) {
        *error = QStringLiteral("mmap failed: %1").arg(QString::fromLocal8Bit(strerror(errno)));
        return nullptr;
    }
    // A new object is zero-filled, which is the initial state of every field.
    return static_cast<SharedPage *>(address);
}

int runEcho(SharedPage &page, const RoleOptions &options)
{
    for (quint32 i = 0; i < quint32(options.warmup + options.roundTrips); ++i) {
        const quint32 request = 2 * i + 1;
        quint32 state;
        while ((state = page.state.load(std::memory_order_acquire)) != request)
            futexWait(page.state, state);
        std::memcpy(page.reply, page.request, MessageSize);
        page.state.store(request + 1, std::memory_order_release);
        futexWake(page.state);
    }
    return 0;
}

int runPing(SharedPage &page, const RoleOptions &options)
{
    const qint64 total = options.warmup + options.roundTrips;
    std::vector<qint64> roundTripNs;
    roundTripNs.reserve(size_t(options.roundTrips));
    for (qint64 i = 0; i < total; ++i) {
        const quint32 reply = quint32(2 * i + 2);
        const qint64 sentAtNs = nowNs();
        writeCounter(page.request, i);
        page.state.store(reply - 1, std::memory_order_release);
        futexWake(page.state);
        quint32 state;
        while ((state = page.state.load(std::memory_order_acquire)) != reply)
            futexWait(page.state, state);
        const qint64 roundTrip = nowNs() - sentAtNs;
        if (readCounter(page.reply) != i)
            return fail(options, QStringLiteral("reply %1 did not match its request").arg(i));
        if (i >= options.warmup)
            roundTripNs.push_back(roundTrip);
    }
    printLatencyResult(roundTripNs);
    return 0;
}

int runSource(SharedPage &page, const RoleOptions &options)
{
    // The consumer's stop flag is polled at this interval while the ring is full.
    const timespec stopPoll{0, 100 * 1000 * 1000};
    char frame[MessageSize] = {};
    quint32 head = 0;
    for (qint64 sent = 0; sent < options.messages; ++sent) {
        while (head - page.tail.load(std::memory_order_acquire) == RingCapacity) {
            if (page.stopped.load())
                return 0;
            // Announce the sleep, then check again. A consumer that frees a slot between the
            // check and FUTEX_WAIT then either reads the announcement or changes tail first.
            page.producerWaiting.store(1);
            const quint32 tail = page.tail.load();
            if (head - tail == RingCapacity)
                futexWait(page.tail, tail, &stopPoll);
            page.producerWaiting.store(0, std::memory_order_relaxed);
        }
        writeCounter(frame, sent);
        std::memcpy(page.slots[head % RingCapacity], frame, MessageSize);
        page.head.store(++head);
        if (page.consumerWaiting.load())
            futexWake(page.head);
    }
    return 0;
}

int runSink(SharedPage &page, const RoleOptions &options)
{
    char frame[MessageSize];
    quint32 tail = 0;
    qint64 received = 0;
    qint64 firstNs = 0;
    qint64 lastNs = 0;
    while (true) {
        while (page.head.load(std::memory_order_acquire) == tail) {
            page.consumerWaiting.store(1);
            if (page.head.load() == tail)
                futexWait(page.head, tail);
            page.consumerWaiting.store(0, std::memory_order_relaxed);
        }
        std::memcpy(frame, page.slots[tail % RingCapacity], MessageSize);
        page.tail.store(++tail);
        if (page.producerWaiting.load())
            futexWake(page.tail);
        if (readCounter(frame) != received)
            return fail(options, QStringLiteral("message %1 arrived out of order").arg(received));
        if (received == 0)
            firstNs = nowNs();
        ++received;
        if (received % CreditInterval != 0 && received != options.messages)
            continue;
        lastNs = nowNs();
        if (received == options.messages || lastNs - firstNs >= MaxThroughputNs)
            break;
    }
    page.stopped.store(1);
    printThroughputResult(received, lastNs - firstNs);
    return 0;
}

} // namespace

int runFutex(const RoleOptions &options)
{
    const bool server = options.role == Role::Echo || options.role == Role::Source;
    QString error;
    SharedPage *page = mapPage(options, server, &error);
    if (!page)
        return fail(options, error);
    if (server)
        printReady();

    switch (options.role) {
    case Role::Echo:
        return runEcho(*page, options);
    case Role::Ping:
        return runPing(*page, options);
    case Role::Source:
        return runSource(*page, options);
    case Role::Sink:
        return runSink(*page, options);
    }
    return 1;
}

} // namespace bench
