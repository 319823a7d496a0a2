#ifndef NPSH_CKERNELS_H
#define NPSH_CKERNELS_H

#include <stdint.h>

/// The optimizer step over n parameters (see Runtime/Predictors/Optimizer.swift), with the
/// gradient grads[i] + grads2[i] when grads2 is not NULL (the halves of a batch). C so that
/// the square root vectorises: Swift lowers SIMD squareRoot lane by lane with an errno
/// fallback. Built with -fno-math-errno and -ffp-contract=off: every operation is the
/// correctly rounded IEEE one, in the order written, so the bits are those of the scalar form.
void npsh_adam_update(float *params, const float *grads, const float *grads2, float *m, float *v, const float *decay, long n,
                      float b1, float c1, float b2, float c2, float step_size, float sqrt_bc2, float eps,
                      float wd, float lrwd, int decoupled);

/// Sets the calling thread to flush subnormal floats to zero, as inputs and as results (SSE's
/// FTZ and DAZ; FZ on ARM). A fit's late gradients and optimizer moments drift into the
/// subnormal range, where every multiply takes a microcode assist: a 300-epoch fit at
/// N = 424 on real NAS-Bench-101 cells ran 10× slower in its last epochs than its first.
/// Every thread that runs a predictor's arithmetic calls this first.
void npsh_flush_subnormals(void);

/// average[i] ← d·average[i] + (1 − d)·x[i]: an EMA step, or with d = 1 − 1/k the k-th
/// update of a running mean (weight averaging, Runtime/Predictors/Fit.swift).
void npsh_blend(float *average, const float *x, long n, float d);

/// One bidirectional GCN layer for inference, after its product P = H·[Wf | Wb]: for each
/// graph b and vertex i, zf = Σ_j Af[i,j]·Pf[j] + bf and zb = Σ_j Ab[i,j]·Pb[j] + bb, then
/// h = (relu(zf) + relu(zb)) / 2 — the arithmetic of batchedPropagate, addBias and
/// bidirectionalReLUMean (Runtime/Kernels/Kernels.swift), in the same order (so the same
/// bits), without storing z.
/// Row j of graph b of P is p + map[b·V + j]·ldp when map is given (a distinct-row
/// product), else p + (b·V + j)·ldp. With pool, h is not stored: each graph's mean over
/// its real vertices goes to pool (B, D), summed in vertex order as meanPool does.
///
///   af, ab: (B, V, V)   p: rows of 2D at stride ldp   bias: (2D)   h: (B·V, D)   scratch: (2D)
/// map may be NULL; pool and counts go together (NULL for h). In C so that it can be built
/// for AVX2 as well as the baseline, chosen at load time (gcn.c).
void npsh_bidirectional_layer_inference(const float *af, const float *ab, const float *p, const int32_t *map, long ldp,
                                        const float *bias, long B, long V, long D, float *h, float *pool,
                                        const int32_t *counts, float *s);

/// The process's interrupt flag (Ctrl-C): set from a signal handler, polled by long loops
/// (Runtime/Support/Interrupt.swift). Lock-free and async-signal-safe.
void npsh_interrupt_request(void);
void npsh_interrupt_clear(void);
int npsh_interrupt_pending(void);

/// Starts `path` with `argv` and `envp` in `cwd` (NULL: npsh's own), standard input from
/// /dev/null and standard output and error on out_fd and err_fd, as the leader of a new
/// process group that (on Linux) is sent SIGKILL when npsh dies. Returns the pid, or -1
/// with *error = the errno of what failed (execve's own when the program cannot run).
/// Descriptors npsh opens for its own use must be close-on-exec.
int npsh_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int out_fd, int err_fd, int *error);

/// waitpid(pid, WNOHANG): 1 and *status when it ended, 0 while it runs, -1 on error.
int npsh_wait(int pid, int *status);
int npsh_status_exited(int status);
int npsh_status_code(int status);
int npsh_status_signaled(int status);
int npsh_status_signal(int status);

/// pipe2(fds, O_CLOEXEC), which Swift's Glibc module does not export.
int npsh_pipe(int fds[2]);

/// Sends `sig` to the process group `pgid`.
int npsh_kill_group(int pgid, int sig);

#endif
