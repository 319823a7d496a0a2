#include "ckernels.h"

// CRC-32C with the SSE4.2 instruction, and a fast digest of 32-bit words for cache names.

#if defined(__x86_64__)
#include <nmmintrin.h>

// Three streams, over the three 8 KiB lanes of each 24 KiB block, hide the instruction's
// 3-cycle latency; they are joined by shifting the first two through the bytes after them
// (crc32c_shift: multiplying by x^(8·len) mod P, from a table of the 64 powers x^(8·2^k)
// built when the program loads). The tail goes through one stream.
static uint32_t gf_multiply(uint32_t a, uint32_t b) {
    // Reflected multiplication modulo the Castagnoli polynomial (bit 31 is x⁰).
    uint32_t product = 0;
    for (int i = 0; i < 32; i++) {
        if (a & 0x80000000u) product ^= b;
        a <<= 1;
        b = (b >> 1) ^ ((b & 1) ? 0x82F63B78u : 0);
    }
    return product;
}

static uint32_t shift_powers[64];

// Built when the program loads, before any thread can read it.
__attribute__((constructor)) static void build_shift_powers(void) {
    // x^8 (one byte) in reflected form is bit 31 − 8.
    uint32_t p = 0x80000000u >> 8;
    for (int k = 0; k < 64; k++) {
        shift_powers[k] = p;
        p = gf_multiply(p, p);
    }
}

// crc · x^(8·bytes) mod P: the CRC state after `bytes` zero bytes, without its pre/post inversion.
static uint32_t crc32c_shift(uint32_t crc, uint64_t bytes) {
    for (int k = 0; bytes; k++, bytes >>= 1)
        if (bytes & 1) crc = gf_multiply(crc, shift_powers[k]);
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_stream(uint32_t crc, const uint8_t *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) { crc = _mm_crc32_u8(crc, *p++); n--; }
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n) { crc = _mm_crc32_u8(crc, *p++); n--; }
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_three(uint32_t crc, const uint8_t *p, size_t n) {
    const size_t lane = 8192;
    while (n >= 3 * lane) {
        uint64_t a = crc, b = 0, c = 0;
        const uint8_t *q = p;
        for (size_t i = 0; i < lane; i += 8) {
            uint64_t x, y, z;
            __builtin_memcpy(&x, q + i, 8);
            __builtin_memcpy(&y, q + lane + i, 8);
            __builtin_memcpy(&z, q + 2 * lane + i, 8);
            a = _mm_crc32_u64(a, x);
            b = _mm_crc32_u64(b, y);
            c = _mm_crc32_u64(c, z);
        }
        crc = crc32c_shift((uint32_t)a, 2 * lane) ^ crc32c_shift((uint32_t)b, lane) ^ (uint32_t)c;
        p += 3 * lane;
        n -= 3 * lane;
    }
    return crc32c_stream(crc, p, n);
}
#endif

int npsh_crc32c_available(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2");
#else
    return 0;
#endif
}

uint32_t npsh_crc32c(uint32_t crc, const void *data, long n) {
#if defined(__x86_64__)
    return ~crc32c_three(~crc, (const uint8_t *)data, (size_t)n);
#else
    (void)data; (void)n;
    return crc;
#endif
}

// Eight independent chains, lane l taking words l, l + 8, …: each step x = (x ^ w) · K,
// x ^= x >> 31 is a bijection of x for a given w and of w for a given x, so one changed word
// always changes its lane's final state.
void npsh_digest_words(uint64_t lanes[8], const uint32_t *words, long n) {
    const uint64_t K = 0xff51afd7ed558ccdull;
    uint64_t x[8];
    for (int l = 0; l < 8; l++) x[l] = lanes[l];
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) {
            uint64_t y = (x[l] ^ words[i + l]) * K;
            x[l] = y ^ (y >> 31);
        }
    }
    for (int l = 0; i < n; i++, l++) {
        uint64_t y = (x[l] ^ words[i]) * K;
        x[l] = y ^ (y >> 31);
    }
    for (int l = 0; l < 8; l++) lanes[l] = x[l];
}
