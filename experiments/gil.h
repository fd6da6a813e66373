/* gil.h - an emulated global interpreter lock, built the way CPython 3 builds
 * its own (Python/ceval_gil.c). See gil.c for how it works and why. */
#ifndef GIL_H
#define GIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct gil {
    pthread_mutex_t mutex;          /* guards locked and the counts below */
    pthread_cond_t released;        /* signalled when the lock is let go */
    pthread_mutex_t switch_mutex;   /* for forced switching ... */
    pthread_cond_t taken;           /* ... signalled when a thread takes it */
    bool locked;
    long last_holder;               /* who took it last (0: nobody yet) */
    unsigned long takes;            /* every take (CPython's switch_number) */
    unsigned long handovers;        /* takes by a thread other than the last */
    _Atomic long holder;            /* who holds it, or held it last */
    atomic_int drop_request;        /* "please let go": read at back-edges */
    long interval_us;               /* sys.getswitchinterval(), in us */
    double held_since;              /* --trace: when the holder took it */
};

void gil_init(struct gil *g, long interval_us);
void gil_destroy(struct gil *g);

/* Take the lock. me: a number from 1 naming the thread, also its lane in
 * the trace (--trace: a "gil-wait" span for a wait, then a "gil" span for
 * the time held, both on lane me). */
void gil_take(struct gil *g, long me);
/* Let it go; if someone asked for it, wait until they have it. */
void gil_drop(struct gil *g, long me);

/* The check at every loop back-edge of the "interpreter": cheap unless a
 * waiting thread has asked for the lock. */
static inline void gil_check(struct gil *g, long me)
{
    if (atomic_load_explicit(&g->drop_request, memory_order_relaxed)) {
        gil_drop(g, me);
        gil_take(g, me);
    }
}

/* How many times the lock changed hands: takes by a thread other than the
 * one that took it last (the first take counts: nobody -> a thread). A
 * thread that lets go and takes it straight back is no hand-over. */
unsigned long gil_switches(struct gil *g);

#endif
