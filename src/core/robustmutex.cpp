// SPDX-License-Identifier: MIT
#include "robustmutex_p.h"

#include <cerrno>
#include <time.h>

namespace mvent {

RobustMutex::Result RobustMutex::lock(int timeoutMs, int *errorCode)
{
    int rc = pthread_mutex_trylock(m_mutex);
    if (rc == EBUSY) {
        // pthread_mutex_timedlock measures against CLOCK_REALTIME.
        timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeoutMs / 1000;
        deadline.tv_nsec += long(timeoutMs % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec += 1;
            deadline.tv_nsec -= 1000000000;
        }
        rc = pthread_mutex_timedlock(m_mutex, &deadline);
    }
    *errorCode = rc;
    switch (rc) {
    case 0:
        return Locked;
    case EOWNERDEAD:
        return OwnerDied;
    case ETIMEDOUT:
        return TimedOut;
    default:
        return Failed;
    }
}

void RobustMutex::markConsistent()
{
    pthread_mutex_consistent(m_mutex);
}

void RobustMutex::unlock()
{
    pthread_mutex_unlock(m_mutex);
}

} // namespace mvent
