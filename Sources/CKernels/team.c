#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "ckernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define npsh_pause() _mm_pause()
#else
#define npsh_pause() ((void)0)
#endif

// Two threads that run a fit's steps together (see ckernels.h). A step's halves take tens
// of microseconds: waking a parked worker for each (a futex, as a dispatch queue does) cost
// as much as the second core gave back, so the helper spins at a barrier instead, yielding
// the core when the wait grows long.
struct npsh_team {
    pthread_t helper;
    atomic_long arrived;
    atomic_long generation;
    void (*fn)(void *ctx, long thread);
    void *ctx;
    atomic_int stop;
};

void npsh_team_sync(npsh_team *t) {
    long gen = atomic_load_explicit(&t->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&t->arrived, 1, memory_order_acq_rel) == 1) {
        atomic_store_explicit(&t->arrived, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->generation, 1, memory_order_acq_rel);
        return;
    }
    for (long i = 0; atomic_load_explicit(&t->generation, memory_order_acquire) == gen; i++) {
        if (i < 20000) npsh_pause(); else sched_yield();
    }
}

static void *team_helper(void *arg) {
    npsh_team *t = arg;
    npsh_flush_subnormals();
    for (;;) {
        npsh_team_sync(t);  // a step starts (or the team ends)
        if (atomic_load_explicit(&t->stop, memory_order_acquire)) break;
        t->fn(t->ctx, 1);
        npsh_team_sync(t);  // the step is done
    }
    return 0;
}

npsh_team *npsh_team_create(void) {
    npsh_team *t = calloc(1, sizeof *t);
    if (!t) return 0;
    atomic_init(&t->arrived, 0);
    atomic_init(&t->generation, 0);
    atomic_init(&t->stop, 0);
    if (pthread_create(&t->helper, 0, team_helper, t) != 0) {
        free(t);
        return 0;
    }
    return t;
}

void npsh_team_run(npsh_team *t, void (*fn)(void *ctx, long thread), void *ctx) {
    t->fn = fn;
    t->ctx = ctx;
    npsh_flush_subnormals();
    npsh_team_sync(t);
    fn(ctx, 0);
    npsh_team_sync(t);
}

void npsh_team_destroy(npsh_team *t) {
    if (!t) return;
    atomic_store_explicit(&t->stop, 1, memory_order_release);
    npsh_team_sync(t);
    pthread_join(t->helper, 0);
    free(t);
}
