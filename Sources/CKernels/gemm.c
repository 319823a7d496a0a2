#include "ckernels.h"
#include "transpose16.h"
#include <math.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The training step's products (see ckernels.h): each element of C is one fused
// multiply-add chain over k in order, from zero. That is the order OpenBLAS's kernels use,
// so these give its bits; unlike a BLAS call they pack nothing, which at the fit's 35 rows
// cost as much as the multiplying (the weights are already row-major panels in cache).

// Scalar form: the definition, and the copy for CPUs without AVX-512.
static void gemm_scalar(long M, long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c, long ldc,
                        int accumulate) {
    for (long i = 0; i < M; i++) {
        for (long j = 0; j < N; j++) {
            float acc = 0;
            for (long k = 0; k < K; k++) acc = fmaf(a[i * ais + k * aks], b[k * ldb + j], acc);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc : acc;
        }
    }
}

#if defined(__x86_64__)
#define NPSH_AVX512 __attribute__((target("avx512f")))

static inline __attribute__((always_inline)) NPSH_AVX512 void gemm_block(const int RB, const int vecs, long K, const float *a, long ais,
                                                                          long aks, const float *b, long ldb, float *c, long ldc,
                                                                          __mmask16 m0, __mmask16 m1, __mmask16 m2, int accumulate) {
    __m512 acc0[8], acc1[8], acc2[8];
    for (int r = 0; r < RB; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
        acc2[r] = _mm512_setzero_ps();
    }
    for (long k = 0; k < K; k++) {
        const float *bk = b + k * ldb, *ak = a + k * aks;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bk);
        __m512 b1 = vecs > 1 ? _mm512_maskz_loadu_ps(m1, bk + 16) : b0;
        __m512 b2 = vecs > 2 ? _mm512_maskz_loadu_ps(m2, bk + 32) : b0;
        for (int r = 0; r < RB; r++) {
            __m512 x = _mm512_set1_ps(ak[r * ais]);
            acc0[r] = _mm512_fmadd_ps(x, b0, acc0[r]);
            if (vecs > 1) acc1[r] = _mm512_fmadd_ps(x, b1, acc1[r]);
            if (vecs > 2) acc2[r] = _mm512_fmadd_ps(x, b2, acc2[r]);
        }
    }
    for (int r = 0; r < RB; r++) {
        float *cr = c + r * ldc;
        if (accumulate) {
            acc0[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc0[r]);
            if (vecs > 1) acc1[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc1[r]);
            if (vecs > 2) acc2[r] = _mm512_add_ps(_mm512_maskz_loadu_ps(m2, cr + 32), acc2[r]);
        }
        _mm512_mask_storeu_ps(cr, m0, acc0[r]);
        if (vecs > 1) _mm512_mask_storeu_ps(cr + 16, m1, acc1[r]);
        if (vecs > 2) _mm512_mask_storeu_ps(cr + 32, m2, acc2[r]);
    }
}

// A block of RB rows by up to 48 columns: three vectors a row while 33 or more are left.
#define GEMM_ROWS(RB)                                                                                                                 \
    static NPSH_AVX512 void gemm_rows_##RB(long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c,    \
                                           long ldc, int accumulate) {                                                                \
        long left = N;                                                                                                                \
        __mmask16 m0 = npsh_lanes(left);                                                                                              \
        if (left > 32) {                                                                                                              \
            gemm_block(RB, 3, K, a, ais, aks, b, ldb, c, ldc, m0, 0xffff, npsh_lanes(left - 32), accumulate);                         \
        } else if (left > 16) {                                                                                                       \
            gemm_block(RB, 2, K, a, ais, aks, b, ldb, c, ldc, m0, npsh_lanes(left - 16), 0, accumulate);                              \
        } else {                                                                                                                      \
            gemm_block(RB, 1, K, a, ais, aks, b, ldb, c, ldc, m0, 0, 0, accumulate);                                                  \
        }                                                                                                                             \
    }
GEMM_ROWS(1)
GEMM_ROWS(2)
GEMM_ROWS(3)
GEMM_ROWS(4)
GEMM_ROWS(5)
GEMM_ROWS(6)
GEMM_ROWS(7)
GEMM_ROWS(8)

static NPSH_AVX512 void gemm_avx512(long M, long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c,
                                    long ldc, int accumulate) {
    // Chunks of at most 256 rows and within a chunk a strip of 48 columns of B at a time
    // (K × 192 bytes, in L1) across all its row blocks, which hold at most 8 rows, as even as
    // they divide (35 rows: five of 7). Three vectors a row reuse each broadcast of A three
    // times: against strips of 32, the fit's products ran 3–7 % faster in cache, and 20 %
    // for D = 144's dH = dP·Wᵀ, whose 144 columns left a strip of 16. Rows of A far apart
    // (a tall row-major A, as in a whole-space prediction) are first copied block by block
    // into k-major panels, so the kernel reads one stream instead of eight; a small A (a
    // fit's 35 rows) stays in L1 as it is. Neither the order of the blocks nor the copies
    // change any element's chain.
    float *panel = 0, *strip = 0;
    if (M >= 64 && ais != 1) {
        panel = malloc(sizeof(float) * (size_t)(M < 256 ? M : 256) * (size_t)(K > 0 ? K : 1));
        strip = malloc(sizeof(float) * 48 * (size_t)(K > 0 ? K : 1));
        if (!panel || !strip) abort();
    }
    for (long m0 = 0; m0 < M; m0 += 256) {
        long mc = M - m0 < 256 ? M - m0 : 256;
        long blocks = (mc + 7) / 8;
        if (panel) {
            for (long q = 0; q < blocks; q++) {
                long lo = m0 + mc * q / blocks, rb = m0 + mc * (q + 1) / blocks - lo;
                float *pq = panel + (lo - m0) * K;
                for (long k = 0; k < K; k++)
                    for (long r = 0; r < rb; r++) pq[k * rb + r] = a[(lo + r) * ais + k * aks];
            }
        }
        for (long j = 0, nj; j < N; j += nj) {
            // Strips of 48 columns, the last 48 or fewer (three vectors or fewer a row).
            nj = N - j <= 48 ? N - j : N - j <= 64 ? 32 : 48;
            const float *bj = b + j;
            long lb = ldb;
            if (strip) {
                // The strip as K contiguous rows of 48: no two of its rows share an L1 set.
                for (long k = 0; k < K; k++)
                    for (long t = 0; t < 48; t++) strip[k * 48 + t] = t < nj ? b[k * ldb + j + t] : 0;
                bj = strip;
                lb = 48;
            }
            for (long q = 0; q < blocks; q++) {
                long lo = m0 + mc * q / blocks, hi = m0 + mc * (q + 1) / blocks;
                long qa = ais, qk = aks;
                const float *aq = a + lo * ais;
                if (panel) {
                    aq = panel + (lo - m0) * K;
                    qa = 1;
                    qk = hi - lo;
                }
                float *cq = c + lo * ldc + j;
                switch (hi - lo) {
                case 1: gemm_rows_1(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                case 2: gemm_rows_2(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                case 3: gemm_rows_3(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                case 4: gemm_rows_4(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                case 5: gemm_rows_5(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                case 6: gemm_rows_6(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                case 7: gemm_rows_7(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                default: gemm_rows_8(nj, K, aq, qa, qk, bj, lb, cq, ldc, accumulate); break;
                }
            }
        }
    }
    free(panel);
    free(strip);
}
#endif

static int use_avx512 = -1;

void npsh_gemm(long M, long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c, long ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
#if defined(__x86_64__)
    if (use_avx512 < 0) use_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
    if (use_avx512) {
        gemm_avx512(M, N, K, a, ais, aks, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
    gemm_scalar(M, N, K, a, ais, aks, b, ldb, c, ldc, accumulate);
}

void npsh_gemm_reference(long M, long N, long K, const float *a, long ais, long aks, const float *b, long ldb, float *c, long ldc,
                         int accumulate) {
    gemm_scalar(M, N, K, a, ais, aks, b, ldb, c, ldc, accumulate);
}

static void transpose_scalar(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    for (long i0 = 0; i0 < rows; i0 += 16) {
        long i1 = i0 + 16 < rows ? i0 + 16 : rows;
        for (long j0 = 0; j0 < cols; j0 += 16) {
            long j1 = j0 + 16 < cols ? j0 + 16 : cols;
            for (long j = j0; j < j1; j++)
                for (long i = i0; i < i1; i++) dst[j * ldd + i] = src[i * lds + j];
        }
    }
}

#if defined(__x86_64__)
// 16 × 16 tiles transposed in registers (transpose16.h), a tile's edge rows and columns
// masked.
static NPSH_AVX512 void transpose_avx512(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    for (long i0 = 0; i0 < rows; i0 += 16) {
        long nr = rows - i0 < 16 ? rows - i0 : 16;
        __mmask16 rowMask = npsh_lanes(nr);
        for (long j0 = 0; j0 < cols; j0 += 16) {
            long nc = cols - j0 < 16 ? cols - j0 : 16;
            __mmask16 colMask = npsh_lanes(nc);
            __m512 r[16];
            for (int i = 0; i < 16; i++) r[i] = i < nr ? _mm512_maskz_loadu_ps(colMask, src + (i0 + i) * lds + j0) : _mm512_setzero_ps();
            npsh_transpose16(r);
            for (int j = 0; j < nc; j++) _mm512_mask_storeu_ps(dst + (j0 + j) * ldd + i0, rowMask, r[j]);
        }
    }
}
#endif

void npsh_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
#if defined(__x86_64__)
    if (use_avx512 < 0) use_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
    if (use_avx512) {
        transpose_avx512(src, rows, cols, lds, dst, ldd);
        return;
    }
#endif
    transpose_scalar(src, rows, cols, lds, dst, ldd);
}

void npsh_transpose_reference(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    transpose_scalar(src, rows, cols, lds, dst, ldd);
}
