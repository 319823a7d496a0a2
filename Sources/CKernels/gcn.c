#include "ckernels.h"

// On x86-64 Linux, built twice (target_clones): an AVX2 copy and a baseline copy, chosen when
// the program loads from what the CPU has (an ifunc; elsewhere, one baseline copy).
// -ffp-contract=off keeps every multiply and add separate, so any copy gives the bits of the
// Swift reference forms in Runtime/Kernels/Kernels.swift.
#if defined(__x86_64__) && defined(__linux__)
#define NPSH_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NPSH_CLONES
#endif

NPSH_CLONES
void npsh_bidirectional_layer_inference(const float *af, const float *ab, const float *p, const int32_t *map, long ldp,
                                        const float *bias, long B, long V, long D, float *h, float *pool,
                                        const int32_t *counts, float *s) {
    float *sf = s, *sb = s + D;
    const float *biasF = bias, *biasB = bias + D;
    for (long b = 0; b < B; b++) {
        const float *fb = af + b * V * V, *bb = ab + b * V * V;
        long n = pool ? (long)counts[b] : V;
        float *o = pool ? pool + b * D : 0;
        if (o) for (long d = 0; d < D; d++) o[d] = 0;
        for (long i = 0; i < n; i++) {
            for (long d = 0; d < 2 * D; d++) s[d] = 0;
            for (long j = 0; j < V; j++) {
                float w = fb[i * V + j];
                if (w == 0) continue;
                const float *xr = p + (map ? (long)map[b * V + j] : b * V + j) * ldp;
                for (long d = 0; d < D; d++) sf[d] += w * xr[d];
            }
            for (long j = 0; j < V; j++) {
                float w = bb[i * V + j];
                if (w == 0) continue;
                const float *xr = p + (map ? (long)map[b * V + j] : b * V + j) * ldp + D;
                for (long d = 0; d < D; d++) sb[d] += w * xr[d];
            }
            // Swift's max(v, 0) is (0 >= v ? 0 : v).
            if (o) {
                for (long d = 0; d < D; d++) {
                    float zf = sf[d] + biasF[d], zb = sb[d] + biasB[d];
                    o[d] += 0.5f * ((0 >= zf ? 0 : zf) + (0 >= zb ? 0 : zb));
                }
            } else {
                float *hr = h + (b * V + i) * D;
                for (long d = 0; d < D; d++) {
                    float zf = sf[d] + biasF[d], zb = sb[d] + biasB[d];
                    hr[d] = 0.5f * ((0 >= zf ? 0 : zf) + (0 >= zb ? 0 : zb));
                }
            }
        }
        if (o) {
            float inv = n > 0 ? 1 / (float)n : 0;
            for (long d = 0; d < D; d++) o[d] *= inv;
        }
    }
}
