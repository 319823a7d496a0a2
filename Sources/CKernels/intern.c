#include "ckernels.h"
#include <stdlib.h>
#include <string.h>

// The key interner behind structured GCN inference (Runtime/Predictors/Inference.swift).
// Open addressing with linear probing; a slot holds the key's 32-bit fingerprint, id + 1
// (0: empty), and where its words lie in the arena, so a probe touches the arena only when
// the fingerprints agree. Keys are interned a block at a time in three passes: hash every
// key and prefetch its slot, then prefetch the arena words of a slot whose fingerprint
// agrees, then resolve the keys in order — the same ids as one key at a time, with the
// cache misses of a block overlapping instead of following one another.

typedef struct {
    uint32_t fp, id1, off, len;
} slot_t;

struct npsh_interner {
    uint64_t *arena;
    size_t arena_used, arena_cap;
    uint64_t *offsets;  // count + 1 entries
    size_t count, offsets_cap;
    slot_t *slots;
    size_t slot_count;
};

static uint64_t key_hash(const uint64_t *k, long n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL * (uint64_t)(n + 1);
    for (long i = 0; i < n; i++) {
        h = (h ^ k[i]) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return h ^ (h >> 29);
}

npsh_interner *npsh_interner_create(void) {
    npsh_interner *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->arena_cap = 1 << 12;
    t->arena = malloc(t->arena_cap * sizeof *t->arena);
    t->offsets_cap = 1 << 10;
    t->offsets = malloc((t->offsets_cap + 1) * sizeof *t->offsets);
    t->slot_count = 1 << 11;
    t->slots = calloc(t->slot_count, sizeof *t->slots);
    if (!t->arena || !t->offsets || !t->slots) abort();
    t->offsets[0] = 0;
    return t;
}

void npsh_interner_destroy(npsh_interner *t) {
    if (!t) return;
    free(t->arena);
    free(t->offsets);
    free(t->slots);
    free(t);
}

npsh_interner *npsh_interner_load(const uint64_t *arena, long words, const int64_t *offsets, long count) {
    npsh_interner *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->arena_cap = words > 0 ? (size_t)words : 1;
    t->arena = malloc(t->arena_cap * sizeof *t->arena);
    t->offsets_cap = count > 0 ? (size_t)count : 1;
    t->offsets = malloc((t->offsets_cap + 1) * sizeof *t->offsets);
    if (!t->arena || !t->offsets) abort();
    if (words > 0) memcpy(t->arena, arena, (size_t)words * sizeof *arena);
    memcpy(t->offsets, offsets, (size_t)(count + 1) * sizeof *offsets);
    t->arena_used = (size_t)words;
    t->count = (size_t)count;
    return t;
}

long npsh_interner_words(const npsh_interner *t) { return (long)t->arena_used; }

void npsh_interner_seal(npsh_interner *t) {
    free(t->slots);
    t->slots = 0;
    t->slot_count = 0;
}

long npsh_interner_count(const npsh_interner *t) { return (long)t->count; }
const uint64_t *npsh_interner_arena(const npsh_interner *t) { return t->arena; }
const int64_t *npsh_interner_offsets(const npsh_interner *t) { return (const int64_t *)t->offsets; }

static void grow_slots(npsh_interner *t) {
    size_t count = t->slot_count * 2, mask = count - 1;
    slot_t *slots = calloc(count, sizeof *slots);
    if (!slots) abort();
    for (size_t s = 0; s < t->slot_count; s++) {
        slot_t e = t->slots[s];
        if (!e.id1) continue;
        uint64_t h = key_hash(t->arena + e.off, e.len);
        size_t p = (size_t)h & mask;
        while (slots[p].id1) p = (p + 1) & mask;
        slots[p] = e;
    }
    free(t->slots);
    t->slots = slots;
    t->slot_count = count;
}

static int32_t resolve(npsh_interner *t, const uint64_t *k, long n, uint64_t h) {
    size_t mask = t->slot_count - 1, p = (size_t)h & mask;
    uint32_t fp = (uint32_t)(h >> 32);
    for (;;) {
        slot_t e = t->slots[p];
        if (!e.id1) break;
        if (e.fp == fp && e.len == (uint32_t)n && memcmp(t->arena + e.off, k, (size_t)n * sizeof *k) == 0) return (int32_t)(e.id1 - 1);
        p = (p + 1) & mask;
    }
    // Slots hold 32-bit ids and arena offsets: past them, stop rather than alias keys.
    if (t->arena_used + (size_t)n > UINT32_MAX || t->count + 1 >= INT32_MAX) abort();
    if (t->arena_used + (size_t)n > t->arena_cap) {
        while (t->arena_used + (size_t)n > t->arena_cap) t->arena_cap *= 2;
        t->arena = realloc(t->arena, t->arena_cap * sizeof *t->arena);
        if (!t->arena) abort();
    }
    if (t->count + 1 > t->offsets_cap) {
        t->offsets_cap *= 2;
        t->offsets = realloc(t->offsets, (t->offsets_cap + 1) * sizeof *t->offsets);
        if (!t->offsets) abort();
    }
    memcpy(t->arena + t->arena_used, k, (size_t)n * sizeof *k);
    slot_t e = {fp, (uint32_t)(t->count + 1), (uint32_t)t->arena_used, (uint32_t)n};
    t->slots[p] = e;
    t->arena_used += (size_t)n;
    int32_t id = (int32_t)t->count;
    t->count += 1;
    t->offsets[t->count] = t->arena_used;
    if (2 * t->count > t->slot_count) grow_slots(t);
    return id;
}

void npsh_interner_intern(npsh_interner *t, const uint64_t *words, const int64_t *starts, long n, int32_t *ids, uint64_t *hashes) {
    if (!t->slots) abort();  // sealed
    for (long i = 0; i < n; i++) {
        hashes[i] = key_hash(words + starts[i], (long)(starts[i + 1] - starts[i]));
        __builtin_prefetch(t->slots + (hashes[i] & (t->slot_count - 1)));
    }
    for (long i = 0; i < n; i++) {
        slot_t e = t->slots[hashes[i] & (t->slot_count - 1)];
        if (e.id1 && e.fp == (uint32_t)(hashes[i] >> 32)) __builtin_prefetch(t->arena + e.off);
    }
    for (long i = 0; i < n; i++) ids[i] = resolve(t, words + starts[i], (long)(starts[i + 1] - starts[i]), hashes[i]);
}

#if defined(__linux__)
#include <sys/mman.h>
#endif

// Large tables: anonymous memory, 2 MB aligned and (on Linux) marked for transparent huge
// pages, so that filling a gigabyte takes hundreds of page faults instead of hundreds of
// thousands and random reads of its rows rarely miss the TLB. Not cleared: callers write
// every element before reading it.
void *npsh_large_alloc(size_t bytes) {
    size_t align = (size_t)2 << 20;
    size_t size = (bytes + align - 1) / align * align;
    void *p = 0;
    if (posix_memalign(&p, align, size ? size : align) != 0 || !p) abort();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

void npsh_large_free(void *p) { free(p); }
