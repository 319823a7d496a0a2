#ifndef NPSH_CKERNELS_H
#define NPSH_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The optimizer step over n parameters (see Runtime/Predictors/Optimizer.swift), with the
/// gradient grads[i] + grads2[i] when grads2 is not NULL (the halves of a batch). C so that
/// the square root vectorises: Swift lowers SIMD squareRoot lane by lane with an errno
/// fallback. Built with -fno-math-errno and -ffp-contract=off: every operation is the
/// correctly rounded IEEE one, in the order written, so the bits are those of the scalar form.
/// grads and grads2 are only read: each half of a fit clears its own gradient before its
/// backward pass, on its own thread, so that a two-thread step's optimizer, which reads both
/// halves' gradients, does not also write into the other core's (a line written there would
/// have to travel back before that core's next accumulation into it).
/// `decay` (0 or 1) is the weight decay's factor for all n parameters: the optimizer calls
/// this once per run of parameters that share it (a tensor's weights, its biases).
void npsh_adam_update(float *params, float *grads, float *grads2, float *m, float *v, float decay, long n,
                      float b1, float c1, float b2, float c2, float step_size, float sqrt_bc2, float eps,
                      float wd, float lrwd, int decoupled);

/// The fit's products: C (M × N, row stride ldc) = A·B, or C + A·B when accumulate is
/// non-zero, where A(i, k) = a[i·ais + k·aks] (so one routine serves A and Aᵀ) and B is
/// K × N, row-major at stride ldb. Each element is acc = fma(A(i,k), B(k,j), acc) over k in
/// order from acc = 0, then stored (C + acc when accumulating): OpenBLAS's order, one
/// rounding per term. AVX-512 where the CPU has it, else the scalar form (the same bits).
void npsh_gemm(long M, long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c, long ldc, int accumulate);
/// npsh_gemm's scalar form, for tests.
void npsh_gemm_reference(long M, long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c, long ldc,
                         int accumulate);
/// dst[j·ldd + i] = src[i·lds + j] for i < rows, j < cols.
void npsh_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd);
/// npsh_transpose's scalar form, for tests.
void npsh_transpose_reference(const float *src, long rows, long cols, long lds, float *dst, long ldd);

/// Two threads, the caller and one helper, for a fit's steps. npsh_team_run runs fn(ctx, 0)
/// on the calling thread and fn(ctx, 1) on the helper and returns when both have; inside fn
/// both threads may call npsh_team_sync, a barrier (each the same number of times). The
/// helper flushes subnormals and spins between runs (yielding when a wait grows long): a
/// team lives for one fit. npsh_team_create returns NULL when no thread can be started.
typedef struct npsh_team npsh_team;
npsh_team *npsh_team_create(void);
void npsh_team_run(npsh_team *t, void (*fn)(void *ctx, long thread), void *ctx);
void npsh_team_sync(npsh_team *t);
void npsh_team_destroy(npsh_team *t);

/// npsh_adam_update over a rows × cols weight matrix (row-major, decay for all of it) that
/// also writes the updated matrix's transpose to wt (cols rows at stride ldt): the same bits
/// for params, m and v, and the transpose training's backward multiplies by, without a pass
/// of its own.
void npsh_adam_update_transposing(float *params, float *grads, float *grads2, float *m, float *v, float decay, long rows, long cols,
                                  float b1, float c1, float b2, float c2, float step_size, float sqrt_bc2, float eps, float wd, float lrwd,
                                  int decoupled, float *wt, long ldt);

/// Dropout's forward pass over n values: one xoshiro256** draw (state: s0…s3 of a
/// RandomStream, advanced in place) gives four 16-bit uniforms; mask[i] is 0 where the
/// uniform, scaled to 64 bits, is below `threshold` (the rate × 2⁶⁴), else `keep`; then
/// x[i] ×= mask[i]. The draws and the arithmetic of Kernels.swift's dropoutReference.
void npsh_dropout(float *x, float *mask, long n, uint64_t threshold, float keep, uint64_t *state);
/// npsh_dropout's draws alone: the masks (the same values, the same state afterwards), x
/// left to the caller.
void npsh_dropout_mask(float *mask, long n, uint64_t threshold, float keep, uint64_t *state);

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
/// h = (relu(zf) + relu(zb)) / 2, each sum from zero over j in order (zero weights skipped),
/// the bias added last, relu(v) = (0 >= v ? 0 : v) — npsh_bidirectional_layer_train's
/// arithmetic in its order (so the same bits), without storing z.
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

/// A bidirectional GCN layer's training forward after its product P = H·[Wf | Wb] (B·V rows
/// of 2D): z = [Af·Pf | Ab·Pb] + bias, stored for the backward pass, and
/// h = (relu(zf) + relu(zb)) / 2, each sum from zero over j in order (zero weights skipped),
/// the bias added last, relu(v) = (0 >= v ? 0 : v); then h ×= mask (dropout's, B·V rows of
/// D, drawn beforehand) when mask is not NULL, as npsh_dropout would multiply it.
void npsh_bidirectional_layer_train(const float *af, const float *ab, const float *p, const float *bias, long B, long V, long D,
                                    const float *mask, float *z, float *h);

/// Its backward from dL/dh (B·V rows of D; times dropout's mask when mask is not NULL):
/// dz = [dh/2 ⊙ (zf > 0) | dh/2 ⊙ (zb > 0)], dbias (2D) += the rows of dz in order, and
/// dp = [Afᵀ·dzf | Abᵀ·dzb] (sums from zero over j in order, zero weights skipped), one
/// graph at a time.
void npsh_bidirectional_layer_backward(const float *af, const float *ab, const float *z, const float *dh, const float *mask, long B, long V,
                                       long D, float *dz, float *dbias, float *dp);

/// Rows of a bidirectional GCN layer's output from their neighbourhood keys (structured
/// inference, Runtime/Predictors/Inference.swift): key k starts at arena + offsets[k] with a
/// header word nf << 32 | nb, then nf forward and nb backward pairs, each the weight's float
/// bits << 32 | the row of p (at stride ldp) it multiplies, in vertex order. For r in
/// [lo, hi), with k = which[r] (or r when which is NULL), row r − lo of h (D wide) is
/// (relu(Σ w·Pf + bf) + relu(Σ w·Pb + bb)) / 2 with the sums in key order from zero: the
/// arithmetic of npsh_bidirectional_layer_inference for the vertex the key describes.
/// scratch: (2D).
void npsh_gcn_rows_from_keys(const uint64_t *arena, const int64_t *offsets, const int32_t *which, long lo, long hi, const float *p,
                             long ldp, const float *bias, long D, float *h, float *scratch);

/// The normalised adjacencies of B graphs of V ≤ 64 vertices (NormalizedAdjacency in Swift
/// documents the formula): from edge rows (bit c of edges[b·V + i] for an edge i → c) or
/// from dense 0/1 matrices (any nonzero entry an edge; the diagonal is set below counts[b]).
void npsh_normalized_adjacency_edges(const uint64_t *edges, const int32_t *counts, long B, long V, float *af, float *ab);
void npsh_normalized_adjacency(const float *adj, const int32_t *counts, long B, long V, float *af, float *ab);

/// npsh_bidirectional_layer_inference's pooled form with each vertex's product row given by
/// pointer: rows[b·V + j] is row j of graph b's P (2D wide), wherever it lies (a table of
/// rows many graphs share, or the batch's own). Prefetches the next graph's rows.
void npsh_bidirectional_layer_pooled_rows(const float *af, const float *ab, const float *const *rows, const float *bias, long B, long V,
                                          long D, float *pool, const int32_t *counts, float *scratch);

/// Interned keys (runs of 64-bit words; intern.c): equal keys get the same id, ids in order
/// of first appearance; key id's words are arena[offsets[id] ..< offsets[id + 1]].
typedef struct npsh_interner npsh_interner;
npsh_interner *npsh_interner_create(void);
void npsh_interner_destroy(npsh_interner *t);
long npsh_interner_count(const npsh_interner *t);
/// A sealed interner holding copies of `count` keys laid out as npsh_interner_arena and
/// npsh_interner_offsets give them (offsets: count + 1 entries, the last = words).
npsh_interner *npsh_interner_load(const uint64_t *arena, long words, const int64_t *offsets, long count);
/// Words in the arena.
long npsh_interner_words(const npsh_interner *t);
/// Frees the hash slots: the keys stay readable, no more can be interned.
void npsh_interner_seal(npsh_interner *t);
/// Valid until the next npsh_interner_intern.
const uint64_t *npsh_interner_arena(const npsh_interner *t);
const int64_t *npsh_interner_offsets(const npsh_interner *t);
/// Interns n keys, key i being words[starts[i] ..< starts[i + 1]], in order; writes their ids.
/// hashes: scratch for n values.
void npsh_interner_intern(npsh_interner *t, const uint64_t *words, const int64_t *starts, long n, int32_t *ids, uint64_t *hashes);

/// A large table (bytes), 2 MB aligned, marked for transparent huge pages on Linux; not
/// cleared. Aborts when memory is exhausted. Free with npsh_large_free.
void *npsh_large_alloc(size_t bytes);
void npsh_large_free(void *p);

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

/// Whether npsh_crc32c can run (x86-64 with SSE4.2).
int npsh_crc32c_available(void);
/// The CRC-32C (Castagnoli) of n bytes at data, continuing from `crc` (0 to start): the
/// table-driven CRC32C.checksum's value, with the SSE4.2 instruction over three interleaved
/// streams. Only when npsh_crc32c_available().
uint32_t npsh_crc32c(uint32_t crc, const void *data, long n);
/// Feeds n 32-bit words to eight independent 64-bit chains, lane l taking words l, l + 8, …
/// (a cache file's name digest: fast, and any one changed word changes its lane).
void npsh_digest_words(uint64_t lanes[8], const uint32_t *words, long n);

/// Sends `sig` to the process group `pgid`.
int npsh_kill_group(int pgid, int sig);

#endif
