// One-token products of quantized weights (GGUF Q4_K, Q6_K, Q8_0, read in place) with activations quantized
// to int8, on AVX-512 (F, BW, VBMI, VNNI): integer multiply-adds (vpmaddubsw, vpmaddwd, vpdpbusd) that the Java
// Vector API does not offer. Called from Java through FFM (model.host.NativeQuantKernels); docs/adr/0016.
//
// Per product: shardline_quant_prepare quantizes the activations once, into the order and blocks the weight type
// wants; then each thread calls shardline_quant_rows for its rows. quant_cpu.c says whether the CPU has what
// these need; nothing here runs before it said yes.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

enum { Q4_K = 1, Q6_K = 2, Q8_0 = 3 };

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// 256 activations to int8 as llama.cpp's Q8_K: d = max |x| / 127, q = rint(x / d); returns d.
static float quantize256(const float *xb, int8_t q[256]) {
    float amax = 0;
    for (int i = 0; i < 256; i++) { float v = xb[i] < 0 ? -xb[i] : xb[i]; if (v > amax) amax = v; }
    float d = amax / 127, id = d != 0 ? 1 / d : 0;
    for (int i = 0; i < 256; i++) q[i] = (int8_t) __builtin_rintf(xb[i] * id);
    return d;
}

// ---- Q4_K x Q8_K ----
// Activation block (per 256 columns, 64-byte aligned, 320 bytes): int8 q[256] in the order the kernel loads them
// ([sub-blocks 0, 2], [1, 3], [4, 6], [5, 7], 32 each), int16 sums over each 32 in natural order (8), float d.
#define Q4K_ACT 320

static void q4k_prepare(const float *x, int k, uint8_t *act) {
    static const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (int b = 0; b < k / 256; b++) {
        const float *xb = x + 256 * b;
        uint8_t *a = act + (long) Q4K_ACT * b;
        int8_t q[256];
        float d = quantize256(xb, q);
        int16_t sums[8];
        for (int s = 0; s < 8; s++) { int t = 0; for (int i = 0; i < 32; i++) t += q[32 * s + i]; sums[s] = (int16_t) t; }
        for (int v = 0; v < 8; v++) memcpy(a + 32 * v, q + 32 * order[v], 32);
        memcpy(a + 256, sums, 16);
        memcpy(a + 272, &d, 4);
    }
}

static __m512i q4k_index(int a, int c) {   // s16 lanes 0-15 take scale byte a, lanes 16-31 scale byte c
    int8_t t[64];
    for (int i = 0; i < 64; i++) t[i] = (i & 1) ? 0 : (i < 32 ? a : c);
    return _mm512_loadu_si512(t);
}

// R rows (4: r, r + q, r + 2q, r + 3q, four streams sharing each activation load; or 1)
static inline __attribute__((always_inline)) void q4k_block_rows(const uint8_t *w, long rowBytes, long step, int nb,
        const uint8_t *act, int r, int q, float *out, const int R) {
    const __m512i i0 = q4k_index(0, 2), i1 = q4k_index(1, 3), i2 = q4k_index(4, 6), i3 = q4k_index(5, 7);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __mmask64 even = 0x5555555555555555ULL;
    __m512 acc[4]; __m128 accm[4];
    for (int i = 0; i < R; i++) { acc[i] = _mm512_setzero_ps(); accm[i] = _mm_setzero_ps(); }
    for (int b = 0; b < nb; b++) {
        const uint8_t *a = act + (long) Q4K_ACT * b;
        __m512i x0 = _mm512_load_si512(a), x1 = _mm512_load_si512(a + 64), x2 = _mm512_load_si512(a + 128), x3 = _mm512_load_si512(a + 192);
        __m128i xs = _mm_load_si128((const __m128i *) (a + 256));
        float dx; memcpy(&dx, a + 272, 4);
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = w + r * rowBytes + i * step + 144L * b;
            uint32_t w0, w1, w2;
            memcpy(&w0, blk + 4, 4); memcpy(&w1, blk + 8, 4); memcpy(&w2, blk + 12, 4);
            uint64_t sc = (w0 & 0x3F3F3F3Fu) | ((uint64_t) ((w2 & 0x0F0F0F0Fu) | ((w0 >> 2) & 0x30303030u)) << 32);
            uint64_t mn = (w1 & 0x3F3F3F3Fu) | ((uint64_t) (((w2 >> 4) & 0x0F0F0F0Fu) | ((w1 >> 2) & 0x30303030u)) << 32);
            __m512i sv = _mm512_set1_epi64((long long) sc);
            __m512i qa = _mm512_loadu_si512(blk + 16), qb = _mm512_loadu_si512(blk + 80);
            __m512i p0 = _mm512_maddubs_epi16(_mm512_and_si512(qa, m4), x0);
            __m512i p1 = _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(qa, 4), m4), x1);
            __m512i p2 = _mm512_maddubs_epi16(_mm512_and_si512(qb, m4), x2);
            __m512i p3 = _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(qb, 4), m4), x3);
            __m512i s = _mm512_madd_epi16(p0, _mm512_maskz_permutexvar_epi8(even, i0, sv));
            s = _mm512_add_epi32(s, _mm512_madd_epi16(p1, _mm512_maskz_permutexvar_epi8(even, i1, sv)));
            s = _mm512_add_epi32(s, _mm512_madd_epi16(p2, _mm512_maskz_permutexvar_epi8(even, i2, sv)));
            s = _mm512_add_epi32(s, _mm512_madd_epi16(p3, _mm512_maskz_permutexvar_epi8(even, i3, sv)));
            uint16_t d, dmin; memcpy(&d, blk, 2); memcpy(&dmin, blk + 2, 2);
            __m128i pm = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long) mn)), xs);
            accm[i] = _mm_fmadd_ps(_mm_cvtepi32_ps(pm), _mm_set1_ps(dx * h2f(dmin)), accm[i]);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(dx * h2f(d)), acc[i]);
        }
    }
    for (int i = 0; i < R; i++) {
        float m[4]; _mm_storeu_ps(m, accm[i]);
        out[r + i * q] = _mm512_reduce_add_ps(acc[i]) - ((m[0] + m[1]) + (m[2] + m[3]));
    }
}

static void q4k_rows(const uint8_t *w, long rowBytes, int k, const uint8_t *act, int r0, int r1, float *out) {
    int nb = k / 256, q = (r1 - r0) / 4;
    for (int r = r0; r < r0 + q; r++) q4k_block_rows(w, rowBytes, q * rowBytes, nb, act, r, q, out, 4);
    for (int r = r0 + 4 * q; r < r1; r++) q4k_block_rows(w, rowBytes, 0, nb, act, r, 0, out, 1);
}

// ---- Q6_K x Q8_K ----
// Weight block (210 bytes): ql[128] | qh[64] | int8 scales[16] | f16 d. In half h the 64 bytes ql[64h..] give, low
// nibbles then high nibbles, elements 0-63 and 64-127 of the half in natural order, so activations stay in natural
// order. Activation block (per 256 columns, 64-byte aligned, 320 bytes): int8 q[256], int16 minus the sums over each
// 16 (16), float d.
#define Q6K_ACT 320

static void q6k_prepare(const float *x, int k, uint8_t *act) {
    for (int b = 0; b < k / 256; b++) {
        const float *xb = x + 256 * b;
        uint8_t *a = act + (long) Q6K_ACT * b;
        int8_t q[256];
        float d = quantize256(xb, q);
        int16_t sums[16];
        for (int s = 0; s < 16; s++) { int t = 0; for (int i = 0; i < 16; i++) t += q[16 * s + i]; sums[s] = (int16_t) -t; }
        memcpy(a, q, 256);
        memcpy(a + 256, sums, 32);
        memcpy(a + 288, &d, 4);
        memset(a + 292, 0, Q6K_ACT - 292);
    }
}

// R rows (4: r, r + q, r + 2q, r + 3q, four streams sharing each activation load; or 1)
static inline __attribute__((always_inline)) void q6k_block_rows(const uint8_t *w, long rowBytes, long step, int nb,
        const uint8_t *act, int r, int q, float *out, const int R) {
    // s16 lanes 8j..8j+7 of scale vector v take scale 4v + j (the four 16-groups of one 64-element load)
    const __m512i i0 = _mm512_set_epi64(0x0003000300030003LL, 0x0003000300030003LL, 0x0002000200020002LL, 0x0002000200020002LL,
                                        0x0001000100010001LL, 0x0001000100010001LL, 0, 0);
    const __m512i i1 = _mm512_add_epi16(i0, _mm512_set1_epi16(4)), i2 = _mm512_add_epi16(i0, _mm512_set1_epi16(8)),
                  i3 = _mm512_add_epi16(i0, _mm512_set1_epi16(12));
    // qh byte l holds the high bits of quarters 0-3 at bits 0-1, 2-3, 4-5, 6-7. Broadcast to both 256-bit halves and
    // masked so that after the shifts below bits 6-7 are clear: the low-nibble load (quarters 0, 1) shifts left 4 / 2,
    // the high-nibble load (quarters 2, 3) right 0 / 2; bits 4-5 then hold the high bits, bits 0-3 are overwritten.
    const __m512i hm = _mm512_inserti64x4(_mm512_set1_epi8(0x33), _mm256_set1_epi8((char) 0xCC), 1);
    const __m512i shl = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4), shr = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[4];
    for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *a = act + (long) Q6K_ACT * b;
        __m512i x0 = _mm512_load_si512(a), x1 = _mm512_load_si512(a + 64), x2 = _mm512_load_si512(a + 128), x3 = _mm512_load_si512(a + 192);
        __m512i xs = _mm512_zextsi256_si512(_mm256_load_si256((const __m256i *) (a + 256)));
        float dx; memcpy(&dx, a + 288, 4);
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = w + r * rowBytes + i * step + 210L * b;
            __m512i sc = _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (blk + 192))));
            __m512i la = _mm512_loadu_si512(blk), lb = _mm512_loadu_si512(blk + 64);
            __m512i ha = _mm512_and_si512(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) (blk + 128))), hm);
            __m512i hb = _mm512_and_si512(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) (blk + 160))), hm);
            // q = (nibble & 0x0F) | (high bits & 0xF0): 0xE4 = C ? A : B with C = m4
            __m512i q0 = _mm512_ternarylogic_epi32(la, _mm512_sllv_epi64(ha, shl), m4, 0xE4);
            __m512i q1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(la, 4), _mm512_srlv_epi64(ha, shr), m4, 0xE4);
            __m512i q2 = _mm512_ternarylogic_epi32(lb, _mm512_sllv_epi64(hb, shl), m4, 0xE4);
            __m512i q3 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(lb, 4), _mm512_srlv_epi64(hb, shr), m4, 0xE4);
            // the -32 offset: (32 scale) . (-sums over 16)
            __m512i s = _mm512_madd_epi16(_mm512_slli_epi16(sc, 5), xs);
            s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q0, x0), _mm512_permutexvar_epi16(i0, sc));
            s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q1, x1), _mm512_permutexvar_epi16(i1, sc));
            s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q2, x2), _mm512_permutexvar_epi16(i2, sc));
            s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q3, x3), _mm512_permutexvar_epi16(i3, sc));
            uint16_t d; memcpy(&d, blk + 208, 2);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(dx * h2f(d)), acc[i]);
        }
    }
    for (int i = 0; i < R; i++) out[r + i * q] = _mm512_reduce_add_ps(acc[i]);
}

static void q6k_rows(const uint8_t *w, long rowBytes, int k, const uint8_t *act, int r0, int r1, float *out) {
    int nb = k / 256, q = (r1 - r0) / 4;
    for (int r = r0; r < r0 + q; r++) q6k_block_rows(w, rowBytes, q * rowBytes, nb, act, r, q, out, 4);
    for (int r = r0 + 4 * q; r < r1; r++) q6k_block_rows(w, rowBytes, 0, nb, act, r, 0, out, 1);
}

// ---- Q8_0 x Q8_0 ----
// Activations: int8 q[k] (32 per block, natural order, padded to 64 bytes), then float d[k / 32], each block's scale.
static long q8_0_qbytes(int k) { return (k + 63L) / 64 * 64; }

static void q8_0_prepare(const float *x, int k, uint8_t *act) {
    float *ds = (float *) (act + q8_0_qbytes(k));
    for (int b = 0; b < k / 32; b++) {   // per block: d = amax / 127, q = round-to-nearest(x / d), 16 lanes at a time
        __m512 a = _mm512_loadu_ps(x + 32 * b), c = _mm512_loadu_ps(x + 32 * b + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(c)));
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        __m512 iv = _mm512_set1_ps(id);
        const int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        _mm_store_si128((__m128i *) (act + 32 * b), _mm512_cvtsepi32_epi8(_mm512_cvt_roundps_epi32(_mm512_mul_ps(a, iv), rn)));
        _mm_store_si128((__m128i *) (act + 32 * b + 16), _mm512_cvtsepi32_epi8(_mm512_cvt_roundps_epi32(_mm512_mul_ps(c, iv), rn)));
        ds[b] = d;
    }
    memset(act + k, 0, q8_0_qbytes(k) - k);
}

// R rows (4 streams sharing each activation load, or 1), four 34-byte blocks per step as two 512-bit halves: int32
// lanes 0-7 hold block b, 8-15 block b + 1 (then b + 2, b + 3). Weights made unsigned (q ^ 0x80 = q + 128) for
// vpdpbusd; the accumulator starts at -128 * (sums of 4 activations), so each lane ends as the signed dot. The four
// f16 d_w go through a general register into one vcvtph2ps, times the four d_x, spread to the lanes by vpermps.
static inline __attribute__((always_inline)) void q8_0_block_rows(const uint8_t *w, long rowBytes, long step, int nb,
        const uint8_t *act, int r, int q, float *out, const int R) {
    const float *dx = (const float *) (act + q8_0_qbytes(32 * nb));
    const __m512i flip = _mm512_set1_epi8((char) 0x80), zero = _mm512_setzero_si512();
    const __m512i lo2 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i hi2 = _mm512_add_epi32(lo2, _mm512_set1_epi32(2));
    __m512 acc[4];
    for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
    int b = 0;
    for (; b + 3 < nb; b += 4) {
        __m512i x0 = _mm512_load_si512(act + 32L * b), x1 = _mm512_load_si512(act + 32L * b + 64);
        __m512i c0 = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, flip, x0));
        __m512i c1 = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, flip, x1));
        __m128 dx4 = _mm_loadu_ps(dx + b);
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = w + r * rowBytes + i * step + 34L * b;
            __m512i w0 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) (blk + 2))),
                                            _mm256_loadu_si256((const __m256i *) (blk + 36)), 1);
            __m512i w1 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) (blk + 70))),
                                            _mm256_loadu_si256((const __m256i *) (blk + 104)), 1);
            __m512i s0 = _mm512_dpbusd_epi32(c0, _mm512_xor_si512(w0, flip), x0);
            __m512i s1 = _mm512_dpbusd_epi32(c1, _mm512_xor_si512(w1, flip), x1);
            uint16_t d0, d1, d2, d3; memcpy(&d0, blk, 2); memcpy(&d1, blk + 34, 2); memcpy(&d2, blk + 68, 2); memcpy(&d3, blk + 102, 2);
            uint64_t dd = d0 | (uint32_t) d1 << 16 | (uint64_t) d2 << 32 | (uint64_t) d3 << 48;
            __m512 sc = _mm512_castps128_ps512(_mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128((long long) dd)), dx4));
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_permutexvar_ps(lo2, sc), acc[i]);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_permutexvar_ps(hi2, sc), acc[i]);
        }
    }
    for (; b < nb; b++) {   // the last 0-3 blocks one at a time, 256-bit
        __m256i xv = _mm256_load_si256((const __m256i *) (act + 32L * b));
        __m256i corr = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm512_castsi512_si256(flip), xv));
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = w + r * rowBytes + i * step + 34L * b;
            __m256i s = _mm256_dpbusd_epi32(corr, _mm256_xor_si256(_mm256_loadu_si256((const __m256i *) (blk + 2)), _mm512_castsi512_si256(flip)), xv);
            uint16_t d0; memcpy(&d0, blk, 2);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(s)), _mm512_set1_ps(h2f(d0) * dx[b]), acc[i]);
        }
    }
    for (int i = 0; i < R; i++) out[r + i * q] = _mm512_reduce_add_ps(acc[i]);
}

static void q8_0_rows(const uint8_t *w, long rowBytes, int k, const uint8_t *act, int r0, int r1, float *out) {
    int nb = k / 32, q = (r1 - r0) / 4;
    for (int r = r0; r < r0 + q; r++) q8_0_block_rows(w, rowBytes, q * rowBytes, nb, act, r, q, out, 4);
    for (int r = r0 + 4 * q; r < r1; r++) q8_0_block_rows(w, rowBytes, 0, nb, act, r, 0, out, 1);
}

// ---- entry points ----

// bytes of the quantized activations, or -1 for a type or size these kernels do not take
long shardline_quant_act_bytes(int type, int k) {
    if (k <= 0) return -1;
    switch (type) {
        case Q4_K: return k % 256 != 0 ? -1 : (long) Q4K_ACT * (k / 256);
        case Q6_K: return k % 256 != 0 ? -1 : (long) Q6K_ACT * (k / 256);
        case Q8_0: return k % 32 != 0 ? -1 : q8_0_qbytes(k) + 4L * (k / 32);
        default: return -1;
    }
}

// 0, or -1 for a type or size these kernels do not take
int shardline_quant_prepare(int type, const float *x, int k, void *act) {
    switch (type) {
        case Q4_K: if (k % 256 != 0) return -1; q4k_prepare(x, k, act); return 0;
        case Q6_K: if (k % 256 != 0) return -1; q6k_prepare(x, k, act); return 0;
        case Q8_0: if (k % 32 != 0) return -1; q8_0_prepare(x, k, act); return 0;
        default: return -1;
    }
}

int shardline_quant_rows(int type, const void *w, long rowBytes, int k, const void *act, int r0, int r1, float *out) {
    switch (type) {
        case Q4_K: if (k % 256 != 0) return -1; q4k_rows(w, rowBytes, k, act, r0, r1, out); return 0;
        case Q6_K: if (k % 256 != 0) return -1; q6k_rows(w, rowBytes, k, act, r0, r1, out); return 0;
        case Q8_0: if (k % 32 != 0) return -1; q8_0_rows(w, rowBytes, k, act, r0, r1, out); return 0;
        default: return -1;
    }
}
