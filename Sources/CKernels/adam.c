#include "ckernels.h"
#include "clones.h"
#include <math.h>

NPSH_CLONES
void npsh_adam_update(float *restrict params, float *restrict grads, float *restrict grads2, float *restrict m, float *restrict v,
                      float decay, long n, float b1, float c1, float b2, float c2, float step_size,
                      float sqrt_bc2, float eps, float wd, float lrwd, int decoupled) {
    for (long i = 0; i < n; i++) {
        float p = params[i], g = grads2 ? grads[i] + grads2[i] : grads[i];
        grads[i] = 0;
        if (grads2) grads2[i] = 0;
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

NPSH_CLONES
void npsh_blend(float *restrict average, const float *restrict x, long n, float d) {
    float e = 1 - d;
    for (long i = 0; i < n; i++) average[i] = d * average[i] + e * x[i];
}

NPSH_CLONES
void npsh_dropout(float *restrict x, float *restrict mask, long n, uint64_t threshold, float keep, uint64_t *state) {
    uint64_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
    for (long i = 0; i < n; i += 4) {
        uint64_t a = s1 * 5, r = ((a << 7) | (a >> 57)) * 9, t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 45) | (s3 >> 19);
        long m = n - i < 4 ? n - i : 4;
        for (long k = 0; k < m; k++) mask[i + k] = (((r >> (16 * k)) & 0xffff) << 48) < threshold ? 0.0f : keep;
    }
    for (long i = 0; i < n; i++) x[i] *= mask[i];
    state[0] = s0; state[1] = s1; state[2] = s2; state[3] = s3;
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
