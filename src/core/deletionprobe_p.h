// SPDX-License-Identifier: MIT
#pragma once

namespace mvent {

/*
    Lets a function that calls user code learn whether that code deleted the object the
    function runs for, so it stops touching the object. A probe lives on the stack around
    the call, and the object's destructor calls objectDeleted(). Probes chain per thread,
    because only a deletion on the calling thread can happen during the call. Deleting from
    another thread waits for delivery to stop first.
*/
class DeletionProbe
{
public:
    explicit DeletionProbe(const void *object)
        : m_object(object)
        , m_previous(s_top)
    {
        s_top = this;
    }
    ~DeletionProbe() { s_top = m_previous; }
    DeletionProbe(const DeletionProbe &) = delete;
    DeletionProbe &operator=(const DeletionProbe &) = delete;

    bool isDeleted() const { return m_deleted; }

    // Marks every probe of object on this thread's stack.
    static void objectDeleted(const void *object)
    {
        for (DeletionProbe *probe = s_top; probe; probe = probe->m_previous) {
            if (probe->m_object == object) {
                probe->m_deleted = true;
            }
        }
    }

private:
    const void *m_object;
    DeletionProbe *m_previous;
    bool m_deleted = false;
    static inline thread_local DeletionProbe *s_top = nullptr;
};

} // namespace mvent
