#include "ckernels.h"
#include <math.h>

void npsh_adam_update(float *restrict params, const float *restrict grads, const float *restrict grads2, float *restrict m, float *restrict v,
                      const float *restrict decay, long n, float b1, float c1, float b2, float c2, float step_size,
                      float sqrt_bc2, float eps, float wd, float lrwd, int decoupled) {
    for (long i = 0; i < n; i++) {
        float p = params[i], g = grads2 ? grads[i] + grads2[i] : grads[i];
        // Adam adds the L2 term to the gradient; AdamW shrinks the weight first.
        if (decoupled) p -= lrwd * decay[i] * p; else g += wd * decay[i] * p;
        float m1 = b1 * m[i] + c1 * g;
        float v1 = b2 * v[i] + c2 * g * g;
        float denom = sqrtf(v1) / sqrt_bc2 + eps;
        m[i] = m1;
        v[i] = v1;
        params[i] = p - step_size * m1 / denom;
    }
}

void npsh_blend(float *restrict average, const float *restrict x, long n, float d) {
    float e = 1 - d;
    for (long i = 0; i < n; i++) average[i] = d * average[i] + e * x[i];
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
