// SPDX-License-Identifier: MIT
#pragma once

#include <pthread.h>

namespace mvent {

/*
    Wrapper for the process-shared robust mutex in the segment header. When the owner dies
    while holding it, the kernel hands it to the next locker with OwnerDied so that locker can
    repair the pool and then call markConsistent().
*/
class RobustMutex
{
public:
    enum Result { Locked, OwnerDied, TimedOut, Failed };

    explicit RobustMutex(pthread_mutex_t *mutex)
        : m_mutex(mutex)
    {
    }

    // Waits at most timeoutMs milliseconds.
    Result lock(int timeoutMs, int *errorCode);
    void markConsistent();
    void unlock();

private:
    pthread_mutex_t *m_mutex;
};

} // namespace mvent
