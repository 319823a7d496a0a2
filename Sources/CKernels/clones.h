#ifndef NPSH_CLONES_H
#define NPSH_CLONES_H

// On x86-64 Linux, a kernel marked NPSH_CLONES is built three times (target_clones): for
// AVX-512, AVX2 and the baseline, the copy chosen when the program loads from what the CPU
// has (an ifunc; elsewhere, one baseline copy). -ffp-contract=off keeps every multiply and
// add separate and IEEE division and square root are correctly rounded, so every copy gives
// the same bits as the scalar code it is compiled from.
#if defined(__x86_64__) && defined(__linux__)
#define NPSH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NPSH_CLONES
#endif

#endif
