#include "ckernels.h"
#include "clones.h"
#include "transpose16.h"

// o[d] += w[j·stride] · x[j·ldx + d] for j = 0 … V−1 in order, d < D, skipping zero weights:
// one direction of a propagation step for one vertex (stride 1: a row of A; stride V: a
// column, Aᵀ). Inlined into each copy of the kernels that call it.
static inline __attribute__((always_inline)) void add_weighted_rows(float *restrict o, const float *w, long stride, const float *restrict x, long ldx,
                                                                    long V, long D) {
    for (long j = 0; j < V; j++) {
        float wj = w[j * stride];
        if (wj == 0) continue;
        const float *xr = x + j * ldx;
        for (long d = 0; d < D; d++) o[d] += wj * xr[d];
    }
}

// Asks for the first lines of each direction of a product row (2D floats): the hardware
// streams the rest; a prefetch of every line fills the core's miss buffers and stalls it.
static inline __attribute__((always_inline)) void prefetch_row_heads(const float *row, long D) {
    const char *c = (const char *)row;
    __builtin_prefetch(c);
    __builtin_prefetch(c + 64);
    __builtin_prefetch(c + D * (long)sizeof(float));
    __builtin_prefetch(c + D * (long)sizeof(float) + 64);
}

// One vertex of an inference layer from its neighbours' product rows (rows[j]: 2D floats,
// forward half then backward): zf = Σ_j fw[j]·rows[j][d], zb = Σ_j bw[j]·rows[j][D + d]
// from zero over j in order (zero weights skipped), the bias added last, then
// h[d] = (relu(zf) + relu(zb)) / 2 stored into out, or added to it (pooling).
static inline __attribute__((always_inline)) void vertex_relu_mean(const float *fw, const float *bw, const float *const *rows, long V,
                                                                   long D, const float *bias, float *s, float *out, int add) {
    float *sf = s, *sb = s + D;
    for (long d = 0; d < 2 * D; d++) s[d] = 0;
    for (long j = 0; j < V; j++) {
        float w = fw[j];
        if (w == 0) continue;
        const float *xr = rows[j];
        for (long d = 0; d < D; d++) sf[d] += w * xr[d];
    }
    for (long j = 0; j < V; j++) {
        float w = bw[j];
        if (w == 0) continue;
        const float *xr = rows[j] + D;
        for (long d = 0; d < D; d++) sb[d] += w * xr[d];
    }
    // Swift's max(v, 0) is (0 >= v ? 0 : v).
    for (long d = 0; d < D; d++) {
        float zf = sf[d] + bias[d], zb = sb[d] + bias[D + d];
        float h = 0.5f * ((0 >= zf ? 0 : zf) + (0 >= zb ? 0 : zb));
        if (add) out[d] += h; else out[d] = h;
    }
}

// Each graph's vertices (all V, or with pool its first counts[b], averaged into pool).
static inline __attribute__((always_inline)) void graph_relu_mean(const float *fb, const float *bb, const float *const *rows, long V,
                                                                  long D, const float *bias, float *s, float *h, float *pool, long n) {
    if (pool) {
        for (long d = 0; d < D; d++) pool[d] = 0;
        for (long i = 0; i < n; i++) vertex_relu_mean(fb + i * V, bb + i * V, rows, V, D, bias, s, pool, 1);
        float inv = n > 0 ? 1 / (float)n : 0;
        for (long d = 0; d < D; d++) pool[d] *= inv;
    } else {
        for (long i = 0; i < V; i++) vertex_relu_mean(fb + i * V, bb + i * V, rows, V, D, bias, s, h + i * D, 0);
    }
}

NPSH_CLONES
void npsh_bidirectional_layer_inference(const float *af, const float *ab, const float *p, const int32_t *map, long ldp,
                                        const float *bias, long B, long V, long D, float *h, float *pool,
                                        const int32_t *counts, float *s) {
    const float *rows[V > 0 ? V : 1];
    for (long b = 0; b < B; b++) {
        // Rows read through a map are scattered over a large table: fetch the next graph's
        // while this one is computed.
        if (map && b + 1 < B) {
            long next = pool ? (long)counts[b + 1] : V;
            for (long j = 0; j < next; j++) prefetch_row_heads(p + (long)map[(b + 1) * V + j] * ldp, D);
        }
        for (long j = 0; j < V; j++) rows[j] = p + (map ? (long)map[b * V + j] : b * V + j) * ldp;
        graph_relu_mean(af + b * V * V, ab + b * V * V, rows, V, D, bias, s, h + b * V * D, pool ? pool + b * D : 0,
                        pool ? (long)counts[b] : V);
    }
}

NPSH_CLONES
void npsh_gcn_rows_from_keys(const uint64_t *arena, const int64_t *offsets, const int32_t *which, long lo, long hi, const float *p,
                             long ldp, const float *bias, long D, float *h, float *s) {
    float *sf = s, *sb = s + D;
    const float *biasF = bias, *biasB = bias + D;
    for (long r = lo; r < hi; r++) {
        const uint64_t *k = arena + offsets[which ? (long)which[r] : r];
        long nf = (long)(k[0] >> 32), nb = (long)(k[0] & 0xffffffffu);
        const uint64_t *pairs = k + 1;
        for (long d = 0; d < 2 * D; d++) s[d] = 0;
        for (long t = 0; t < nf; t++) {
            uint32_t wbits = (uint32_t)(pairs[t] >> 32);
            float w;
            __builtin_memcpy(&w, &wbits, 4);
            const float *xr = p + (long)(uint32_t)pairs[t] * ldp;
            for (long d = 0; d < D; d++) sf[d] += w * xr[d];
        }
        for (long t = nf; t < nf + nb; t++) {
            uint32_t wbits = (uint32_t)(pairs[t] >> 32);
            float w;
            __builtin_memcpy(&w, &wbits, 4);
            const float *xr = p + (long)(uint32_t)pairs[t] * ldp + D;
            for (long d = 0; d < D; d++) sb[d] += w * xr[d];
        }
        float *hr = h + (r - lo) * D;
        for (long d = 0; d < D; d++) {
            float zf = sf[d] + biasF[d], zb = sb[d] + biasB[d];
            hr[d] = 0.5f * ((0 >= zf ? 0 : zf) + (0 >= zb ? 0 : zb));
        }
    }
}

// One graph's normalised adjacency from its edge rows (bit c of edges[i]: an edge i → c;
// rows of vertices at or past n are zero): forward row i holds i's successors and itself,
// backward row i its predecessors and itself, each entry 1/count (count ≤ 64, an exact
// float, so 1/count is the quotient the dense sum gives) or +0.
static inline __attribute__((always_inline)) void edge_masks(const uint64_t *edges, long n, long V, uint64_t *fm, uint64_t *bm) {
    for (long i = 0; i < V; i++) bm[i] = 0;
    for (long j = 0; j < V; j++) {
        uint64_t e = edges[j];
        while (e) {
            bm[__builtin_ctzll(e)] |= (uint64_t)1 << j;
            e &= e - 1;
        }
    }
    for (long i = 0; i < V; i++) {
        uint64_t self = i < n ? (uint64_t)1 << i : 0;
        fm[i] = edges[i] | self;
        bm[i] |= self;
    }
}

static inline __attribute__((always_inline)) float reciprocal_count(uint64_t mask) {
    int c = __builtin_popcountll(mask);
    return c ? 1.0f / (float)c : 0;
}

static void adjacency_from_edges(const uint64_t *edges, long n, long V, float *f, float *r) {
    uint64_t fm[64], bm[64];
    edge_masks(edges, n, V, fm, bm);
    for (long i = 0; i < V; i++) {
        float inf = reciprocal_count(fm[i]), inb = reciprocal_count(bm[i]);
        for (long j = 0; j < V; j++) {
            f[i * V + j] = (fm[i] >> j) & 1 ? inf : 0.0f;
            r[i * V + j] = (bm[i] >> j) & 1 ? inb : 0.0f;
        }
    }
}

#if defined(__x86_64__)
// The same for V ≤ 16, each row one masked store (the scalar loop took about a twentieth
// of a whole-space prediction's last pass).
static __attribute__((target("avx512f"))) void adjacency_from_edges_avx512(const uint64_t *edges, long n, long V, float *f, float *r) {
    uint64_t fm[16], bm[16];
    edge_masks(edges, n, V, fm, bm);
    __mmask16 row = npsh_lanes(V);
    for (long i = 0; i < V; i++) {
        __m512 vf = _mm512_maskz_mov_ps((__mmask16)fm[i], _mm512_set1_ps(reciprocal_count(fm[i])));
        __m512 vb = _mm512_maskz_mov_ps((__mmask16)bm[i], _mm512_set1_ps(reciprocal_count(bm[i])));
        _mm512_mask_storeu_ps(f + i * V, row, vf);
        _mm512_mask_storeu_ps(r + i * V, row, vb);
    }
}
#endif

static void adjacency_graph(const uint64_t *edges, long n, long V, float *f, float *r) {
#if defined(__x86_64__)
    if (V <= 16 && __builtin_cpu_supports("avx512f")) {
        adjacency_from_edges_avx512(edges, n, V, f, r);
        return;
    }
#endif
    adjacency_from_edges(edges, n, V, f, r);
}

void npsh_normalized_adjacency_edges(const uint64_t *edges, const int32_t *counts, long B, long V, float *af, float *ab) {
    for (long b = 0; b < B; b++) adjacency_graph(edges + b * V, counts[b], V, af + b * V * V, ab + b * V * V);
}

void npsh_normalized_adjacency(const float *adj, const int32_t *counts, long B, long V, float *af, float *ab) {
    uint64_t edges[64];
    for (long b = 0; b < B; b++) {
        const float *a = adj + b * V * V;
        for (long i = 0; i < V; i++) {
            uint64_t e = 0;
            for (long j = 0; j < V; j++) e |= (uint64_t)(a[i * V + j] != 0) << j;
            edges[i] = e;
        }
        adjacency_graph(edges, counts[b], V, af + b * V * V, ab + b * V * V);
    }
}

NPSH_CLONES
void npsh_bidirectional_layer_pooled_rows(const float *af, const float *ab, const float *const *rows, const float *bias, long B, long V,
                                          long D, float *pool, const int32_t *counts, float *s) {
    for (long b = 0; b < B; b++) {
        // The next graph's rows, scattered over a large table.
        if (b + 1 < B) {
            for (long j = 0; j < (long)counts[b + 1]; j++) prefetch_row_heads(rows[(b + 1) * V + j], D);
        }
        graph_relu_mean(af + b * V * V, ab + b * V * V, rows + b * V, V, D, bias, s, 0, pool + b * D, (long)counts[b]);
    }
}

// o[c] = 0 and o[c] += x[c] for c < n (separate streams, so each loop vectorises).
static inline __attribute__((always_inline)) void zero_floats(float *restrict o, long n) {
    for (long c = 0; c < n; c++) o[c] = 0;
}
static inline __attribute__((always_inline)) void add_floats(float *restrict o, const float *restrict x, long n) {
    for (long c = 0; c < n; c++) o[c] += x[c];
}

NPSH_CLONES
void npsh_bidirectional_layer_train(const float *af, const float *ab, const float *p, const float *bias, long B, long V, long D,
                                    const float *mask, float *z, float *h) {
    for (long b = 0; b < B; b++) {
        const float *fb = af + b * V * V, *bb = ab + b * V * V;
        const float *pf = p + b * V * 2 * D, *pb = pf + D;
        for (long i = 0; i < V; i++) {
            long r = b * V + i;
            float *restrict zf = z + r * 2 * D, *restrict zb = zf + D, *restrict hr = h + r * D;
            zero_floats(zf, D);
            zero_floats(zb, D);
            add_weighted_rows(zf, fb + i * V, 1, pf, 2 * D, V, D);
            add_weighted_rows(zb, bb + i * V, 1, pb, 2 * D, V, D);
            add_floats(zf, bias, D);
            add_floats(zb, bias + D, D);
            const float *mr = mask ? mask + r * D : 0;
            for (long d = 0; d < D; d++) {
                float hd = 0.5f * ((0 >= zf[d] ? 0 : zf[d]) + (0 >= zb[d] ? 0 : zb[d]));
                hr[d] = mr ? hd * mr[d] : hd;
            }
        }
    }
}

NPSH_CLONES
void npsh_bidirectional_layer_backward(const float *af, const float *ab, const float *z, const float *dh, const float *mask, long B, long V,
                                       long D, float *dz, float *dbias, float *dp) {
    for (long b = 0; b < B; b++) {
        const float *fb = af + b * V * V, *bb = ab + b * V * V;
        for (long i = 0; i < V; i++) {
            long r = b * V + i;
            const float *restrict zf = z + r * 2 * D, *restrict zb = zf + D, *restrict g = dh + r * D;
            float *restrict of = dz + r * 2 * D, *restrict ob = of + D;
            const float *m = mask ? mask + r * D : 0;
            for (long d = 0; d < D; d++) {
                float half = 0.5f * (m ? g[d] * m[d] : g[d]);
                of[d] = zf[d] > 0 ? half : 0;
                ob[d] = zb[d] > 0 ? half : 0;
            }
            add_floats(dbias, of, D);
            add_floats(dbias + D, ob, D);
        }
        const float *dzf = dz + b * V * 2 * D, *dzb = dzf + D;
        for (long i = 0; i < V; i++) {
            float *restrict of = dp + (b * V + i) * 2 * D, *restrict ob = of + D;
            zero_floats(of, D);
            zero_floats(ob, D);
            add_weighted_rows(of, fb + i, V, dzf, 2 * D, V, D);
            add_weighted_rows(ob, bb + i, V, dzb, 2 * D, V, D);
        }
    }
}
