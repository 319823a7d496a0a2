#include "ckernels.h"
#include "transpose16.h"
#include "clones.h"
#include <math.h>

NPSH_CLONES
void npsh_adam_update(float *restrict params, float *restrict grads, float *restrict grads2, float *restrict m, float *restrict v,
                      float decay, long n, float b1, float c1, float b2, float c2, float step_size,
                      float sqrt_bc2, float eps, float wd, float lrwd, int decoupled) {
    for (long i = 0; i < n; i++) {
        float p = params[i], g = grads2 ? grads[i] + grads2[i] : grads[i];
        // Adam adds the L2 term to the gradient; AdamW shrinks the weight first.
        if (decoupled) p -= lrwd * decay * p; else g += wd * decay * p;
        float m1 = b1 * m[i] + c1 * g;
        float v1 = b2 * v[i] + c2 * g * g;
        float denom = sqrtf(v1) / sqrt_bc2 + eps;
        m[i] = m1;
        v[i] = v1;
        params[i] = p - step_size * m1 / denom;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
// One vector of npsh_adam_update's formula, in its order (no fused multiply-adds: the
// file is built with -ffp-contract=off, and these are separate IEEE operations).
static inline __attribute__((always_inline, target("avx512f"))) __m512 adam_vector(float *params, float *grads, float *grads2, float *m,
                                                                                   float *v, __mmask16 k, __m512 decay, __m512 b1,
                                                                                   __m512 c1, __m512 b2, __m512 c2, __m512 step,
                                                                                   __m512 sqrt_bc2, __m512 eps, __m512 wd, __m512 lrwd,
                                                                                   int decoupled) {
    __m512 p = _mm512_maskz_loadu_ps(k, params), g = _mm512_maskz_loadu_ps(k, grads);
    if (grads2) {
        g = _mm512_add_ps(g, _mm512_maskz_loadu_ps(k, grads2));
    }
    if (decoupled) p = _mm512_sub_ps(p, _mm512_mul_ps(_mm512_mul_ps(lrwd, decay), p));
    else g = _mm512_add_ps(g, _mm512_mul_ps(_mm512_mul_ps(wd, decay), p));
    __m512 m1 = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(k, m)), _mm512_mul_ps(c1, g));
    __m512 v1 = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(k, v)), _mm512_mul_ps(_mm512_mul_ps(c2, g), g));
    __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(v1), sqrt_bc2), eps);
    _mm512_mask_storeu_ps(m, k, m1);
    _mm512_mask_storeu_ps(v, k, v1);
    p = _mm512_sub_ps(p, _mm512_div_ps(_mm512_mul_ps(step, m1), denom));
    _mm512_mask_storeu_ps(params, k, p);
    return p;
}

// npsh_adam_update_transposing on AVX-512, a band of 16 rows at a time: the band updated in
// memory order (one contiguous run in each of the five arrays, which the hardware's stream
// prefetchers follow), then its new weights, still in L1, transposed in 16 × 16 tiles to
// wt. (Updating tile by tile, as this did first, walked 16 rows of each array at once —
// eighty streams — and a fit's Adam, its arrays cold, waited on them.)
static __attribute__((target("avx512f"))) void adam_tiles(float *params, float *grads, float *grads2, float *m, float *v, float decay,
                                                          long rows, long cols, float b1, float c1, float b2, float c2, float step_size,
                                                          float sqrt_bc2, float eps, float wd, float lrwd, int decoupled, float *wt,
                                                          long ldt) {
    __m512 vd = _mm512_set1_ps(decay), vb1 = _mm512_set1_ps(b1), vc1 = _mm512_set1_ps(c1), vb2 = _mm512_set1_ps(b2),
           vc2 = _mm512_set1_ps(c2), vs = _mm512_set1_ps(step_size), vq = _mm512_set1_ps(sqrt_bc2), ve = _mm512_set1_ps(eps),
           vw = _mm512_set1_ps(wd), vl = _mm512_set1_ps(lrwd);
    for (long i0 = 0; i0 < rows; i0 += 16) {
        long nr = rows - i0 < 16 ? rows - i0 : 16;
        __mmask16 rowMask = npsh_lanes(nr);
        long band = i0 * cols, count = nr * cols;
        for (long o = 0; o < count; o += 16) {
            long at = band + o;
            adam_vector(params + at, grads + at, grads2 ? grads2 + at : 0, m + at, v + at, npsh_lanes(count - o), vd, vb1, vc1, vb2, vc2, vs, vq,
                        ve, vw, vl, decoupled);
        }
        for (long j0 = 0; j0 < cols; j0 += 16) {
            long nc = cols - j0 < 16 ? cols - j0 : 16;
            __mmask16 k = npsh_lanes(nc);
            __m512 r[16];
            for (int i = 0; i < 16; i++) r[i] = i < nr ? _mm512_maskz_loadu_ps(k, params + (i0 + i) * cols + j0) : _mm512_setzero_ps();
            npsh_transpose16(r);
            for (int j = 0; j < nc; j++) _mm512_mask_storeu_ps(wt + (j0 + j) * ldt + i0, rowMask, r[j]);
        }
    }
}
#endif

void npsh_adam_update_transposing(float *params, float *grads, float *grads2, float *m, float *v, float decay, long rows, long cols,
                                  float b1, float c1, float b2, float c2, float step_size, float sqrt_bc2, float eps, float wd, float lrwd,
                                  int decoupled, float *wt, long ldt) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        adam_tiles(params, grads, grads2, m, v, decay, rows, cols, b1, c1, b2, c2, step_size, sqrt_bc2, eps, wd, lrwd, decoupled, wt, ldt);
        return;
    }
#endif
    npsh_adam_update(params, grads, grads2, m, v, decay, rows * cols, b1, c1, b2, c2, step_size, sqrt_bc2, eps, wd, lrwd, decoupled);
    npsh_transpose(params, rows, cols, cols, wt, ldt);
}

NPSH_CLONES
void npsh_blend(float *restrict average, const float *restrict x, long n, float d) {
    float e = 1 - d;
    for (long i = 0; i < n; i++) average[i] = d * average[i] + e * x[i];
}

// The draws first (the generator's chain alone, 64 draws at a time, their 16-bit uniforms
// kept), then the masks from them in a loop that vectorises: for a 16-bit u,
// (u << 48) < threshold exactly when u < ⌈threshold / 2⁴⁸⌉.
NPSH_CLONES
void npsh_dropout_mask(float *restrict mask, long n, uint64_t threshold, float keep, uint64_t *state) {
    uint32_t limit = (uint32_t)(threshold >> 48) + ((threshold & 0xffffffffffffull) != 0);
    uint64_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
    uint16_t u[256];
    for (long i = 0; i < n; i += 256) {
        long m = n - i < 256 ? n - i : 256;
        for (long d = 0; d < (m + 3) / 4; d++) {
            uint64_t a = s1 * 5, r = ((a << 7) | (a >> 57)) * 9, t = s1 << 17;
            s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
            s2 ^= t;
            s3 = (s3 << 45) | (s3 >> 19);
            for (int k = 0; k < 4; k++) u[4 * d + k] = (uint16_t)(r >> (16 * k));
        }
        for (long k = 0; k < m; k++) mask[i + k] = (uint32_t)u[k] < limit ? 0.0f : keep;
    }
    state[0] = s0; state[1] = s1; state[2] = s2; state[3] = s3;
}

NPSH_CLONES
void npsh_dropout(float *restrict x, float *restrict mask, long n, uint64_t threshold, float keep, uint64_t *state) {
    npsh_dropout_mask(mask, n, threshold, keep, state);
    for (long i = 0; i < n; i++) x[i] *= mask[i];
}

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

void npsh_flush_subnormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    // FTZ (bit 15) and DAZ (bit 6) of MXCSR.
    _mm_setcsr(_mm_getcsr() | 0x8040);
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= (1UL << 24);  // FZ
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
#endif
}
