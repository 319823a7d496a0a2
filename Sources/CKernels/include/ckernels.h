#ifndef NPSH_CKERNELS_H
#define NPSH_CKERNELS_H

/// The optimizer step over n parameters (see Runtime/Predictors/Optimizer.swift), with the
/// gradient grads[i] + grads2[i] when grads2 is not NULL (the halves of a batch). C so that
/// the square root vectorises: Swift lowers SIMD squareRoot lane by lane with an errno
/// fallback. Built with -fno-math-errno and -ffp-contract=off: every operation is the
/// correctly rounded IEEE one, in the order written, so the bits are those of the scalar form.
void npsh_adam_update(float *params, const float *grads, const float *grads2, float *m, float *v, const float *decay, long n,
                      float b1, float c1, float b2, float c2, float step_size, float sqrt_bc2, float eps,
                      float wd, float lrwd, int decoupled);

#endif
