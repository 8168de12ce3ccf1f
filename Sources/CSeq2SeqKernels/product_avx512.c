// AVX-512 versions of the weight-stationary products (product.c, product_i8.c), for CPUs with AVX-512 F, BW,
// DQ and VL: the same bits as the AVX2 and scalar paths, with twice the lanes and twice the registers.
//
// Float weights: one 16-lane register holds what AVX2 keeps in two 8-lane ones (lanes 0-7: k ≡ 0..7, lanes 8-15:
// k ≡ 8..15 of each block of 16), the block of 8 after the last block of 16 goes into lanes 0-7 only, and the
// horizontal sum adds lane l and lane l + 8 first, then AVX2's tree: the same fused multiply-adds on the same
// values in the same order, so the same bits (s2s_product's contract). int8 weights: integer sums, exact in
// any order (vpmaddwd + vpaddd, or VNNI's vpdpwssd where the CPU has it). With 32 registers a tile is 4 weight rows by up to 6 activation rows (24 accumulators), against
// AVX2's 2 by 3: at 32 rows (W2, the server's steps) the product is bound by multiply-adds, not loads.

#include "kernels_internal.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#endif
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define S2S_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define S2S_INLINE static inline __attribute__((always_inline))
/// Loops over a tile's rows fully unrolled, so its accumulators stay in registers (not an array in memory,
/// zeroed by a call to memset for every tile).
#define S2S_UNROLL _Pragma("clang loop unroll(full)")
/// Bytes ahead prefetched in each weight row (as product.c).
#define S2S_PREFETCH 4096
/// The smallest float32 weight (bytes) whose rows are prefetched: 1 MiB, half a core's L2 on the machines measured.
#define S2S_PREFETCH_F32_MIN_BYTES ((size_t)1 << 20)

// MARK: - Float weights (f32, f16, bf16; int8 converted, for k above the integer path's limit)

S2S_AVX512 S2S_INLINE __m512 load16(int t, const void *w, size_t off) {
    switch (t) {
    case S2S_F32: return _mm512_loadu_ps((const float *)w + off);
    case S2S_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + off)));
    case S2S_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + off))), 16));
    default: return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)((const int8_t *)w + off))));
    }
}

/// Eight elements into lanes 0-7 (lanes 8-15 zero), reading only those eight.
S2S_AVX512 S2S_INLINE __m512 load8(int t, const void *w, size_t off) {
    switch (t) {
    case S2S_F32: return _mm512_maskz_loadu_ps(0xFF, (const float *)w + off);
    case S2S_F16: return _mm512_cvtph_ps(_mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + off))));
    case S2S_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + off)))), 16));
    default:
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)w + off))));
    }
}

/// AVX2's avx_hsum(a0, a1) with a0 = lanes 0-7 and a1 = lanes 8-15.
S2S_AVX512 S2S_INLINE float hsum16(__m512 a) {
    __m256 v = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1)));
}

/// hsum16 of a0..a3 at once: [hsum16(a0), hsum16(a1), hsum16(a2), hsum16(a3)], every lane sum the same pair
/// of values added as hsum16 adds them (so the same bits), transposed instead of one register at a time.
S2S_AVX512 S2S_INLINE __m128 hsum16x4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m256 v0 = _mm256_add_ps(_mm512_castps512_ps256(a0), _mm512_extractf32x8_ps(a0, 1));
    __m256 v1 = _mm256_add_ps(_mm512_castps512_ps256(a1), _mm512_extractf32x8_ps(a1, 1));
    __m256 v2 = _mm256_add_ps(_mm512_castps512_ps256(a2), _mm512_extractf32x8_ps(a2, 1));
    __m256 v3 = _mm256_add_ps(_mm512_castps512_ps256(a3), _mm512_extractf32x8_ps(a3, 1));
    // t4 of each: lanes 0-3 plus lanes 4-7. T01 = [t4(v0) | t4(v1)], T23 = [t4(v2) | t4(v3)].
    __m256 t01 = _mm256_add_ps(_mm256_permute2f128_ps(v0, v1, 0x20), _mm256_permute2f128_ps(v0, v1, 0x31));
    __m256 t23 = _mm256_add_ps(_mm256_permute2f128_ps(v2, v3, 0x20), _mm256_permute2f128_ps(v2, v3, 0x31));
    // t2 of each: [t4[0] + t4[2], t4[1] + t4[3]]: P = [t2(0), t2(2) | t2(1), t2(3)].
    __m256 p = _mm256_add_ps(_mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(t01, t23, _MM_SHUFFLE(3, 2, 3, 2)));
    // t2[0] + t2[1]: S = [s0, s2, s0, s2 | s1, s3, s1, s3].
    __m256 s = _mm256_add_ps(_mm256_shuffle_ps(p, p, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(p, p, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm_unpacklo_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));  // [s0, s1, s2, s3]
}

// WB weight rows from i0 times XB activation rows from r0: WB·XB accumulators.
S2S_AVX512 S2S_INLINE void tile(int t, int WB, int XB, const void *w, size_t ldw, const float *scales, int i0,
                                int k, const float *x, size_t ldx, int r0, float *y, size_t ldy, int accumulate,
                                int prefetch) {
    __m512 a[4][6];
    S2S_UNROLL
    for (int b = 0; b < WB; b++)
        S2S_UNROLL
        for (int r = 0; r < XB; r++) a[b][r] = _mm512_setzero_ps();
    int j = 0;
    for (; j + 16 <= k; j += 16) {
        __m512 wv[4];
        if (prefetch)
            S2S_UNROLL
            for (int b = 0; b < WB; b++)
                _mm_prefetch((const char *)w + ((size_t)(i0 + b) * ldw + (size_t)j) * (t == S2S_I8 ? 1 : t == S2S_F32 ? 4 : 2) + S2S_PREFETCH,
                             _MM_HINT_T0);
        S2S_UNROLL
        for (int b = 0; b < WB; b++) wv[b] = load16(t, w, (size_t)(i0 + b) * ldw + (size_t)j);
        S2S_UNROLL
        for (int r = 0; r < XB; r++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)(r0 + r) * ldx + j);
            S2S_UNROLL
            for (int b = 0; b < WB; b++) a[b][r] = _mm512_fmadd_ps(wv[b], xv, a[b][r]);
        }
    }
    if (j + 8 <= k) {
        S2S_UNROLL
        for (int b = 0; b < WB; b++) {
            __m512 wv = load8(t, w, (size_t)(i0 + b) * ldw + (size_t)j);
            S2S_UNROLL
            for (int r = 0; r < XB; r++)
                a[b][r] = _mm512_mask3_fmadd_ps(wv, _mm512_maskz_loadu_ps(0xFF, x + (size_t)(r0 + r) * ldx + j),
                                                a[b][r], 0xFF);
        }
        j += 8;
    }
    if (WB == 4 && j == k) {
        // No terms left one by one: a row's four results summed, scaled and stored together.
        S2S_UNROLL
        for (int r = 0; r < XB; r++) {
            __m128 v = hsum16x4(a[0][r], a[1][r], a[2][r], a[3][r]);
            if (scales) v = _mm_mul_ps(v, _mm_loadu_ps(scales + i0));
            float *yr = y + (size_t)(r0 + r) * ldy + i0;
            _mm_storeu_ps(yr, accumulate ? _mm_add_ps(_mm_loadu_ps(yr), v) : v);
        }
        return;
    }
    S2S_UNROLL
    for (int b = 0; b < WB; b++)
        S2S_UNROLL
        for (int r = 0; r < XB; r++) {
            float s = hsum16(a[b][r]);
            const float *xr = x + (size_t)(r0 + r) * ldx;
            for (int jj = j; jj < k; jj++) s = __builtin_fmaf(s2s_scalar_load(t, w, (size_t)(i0 + b) * ldw + (size_t)jj), xr[jj], s);
            float v = scales ? s * scales[i0 + b] : s;
            float *yr = y + (size_t)(r0 + r) * ldy + i0 + b;
            *yr = accumulate ? *yr + v : v;
        }
}

/// Tiles of WB weight rows at i over every activation row: 6 at a time, then the rest.
#define S2S_ROWS(T, WB)                                                                      \
    do {                                                                                     \
        int r = 0;                                                                           \
        for (; r + 6 <= n; r += 6) tile(T, WB, 6, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc, pf); \
        switch (n - r) {                                                                     \
        case 5: tile(T, WB, 5, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc, pf); break;     \
        case 4: tile(T, WB, 4, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc, pf); break;     \
        case 3: tile(T, WB, 3, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc, pf); break;     \
        case 2: tile(T, WB, 2, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc, pf); break;     \
        case 1: tile(T, WB, 1, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc, pf); break;     \
        }                                                                                    \
    } while (0)

#define S2S_PRODUCT(T)                                                                       \
    do {                                                                                     \
        int i = 0;                                                                           \
        for (; i + 4 <= m; i += 4) S2S_ROWS(T, 4);                                           \
        for (; i < m; i++) S2S_ROWS(T, 1);                                                   \
    } while (0)

S2S_AVX512 void s2s_product_avx512(int t, const void *w, size_t ldw, const float *scales, int m, int k,
                                   const float *x, size_t ldx, int n, float *y, size_t ldy, int acc) {
    // Software prefetch ahead in each weight row: always for 16-bit and int8 weights; for float32 weights only
    // when several activation rows read weights (this call's rows) that do not fit in a core's L2 (beam 5 on B1
    // and B2: W3 1.15x; at one row the hardware prefetcher keeps up alone, B2 W1 0.90x with it).
    int pf = t != S2S_F32 || (n > 1 && (size_t)m * ldw * sizeof(float) >= S2S_PREFETCH_F32_MIN_BYTES);
    switch (t) {
    case S2S_F32: S2S_PRODUCT(S2S_F32); break;
    case S2S_F16: S2S_PRODUCT(S2S_F16); break;
    case S2S_BF16: S2S_PRODUCT(S2S_BF16); break;
    default: S2S_PRODUCT(S2S_I8); break;
    }
}

// MARK: - int8 weights, int16 activations, exact int32 sums

#define S2S_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))
/// acc + Σ pairs w·x per 32-bit lane: vpmaddwd + vpaddd, or one vpdpwssd with VNNI (no saturation: the same sum).
#define S2S_MADD_BW(acc, w, x) _mm512_add_epi32(acc, _mm512_madd_epi16(w, x))
#define S2S_MADD_VNNI(acc, w, x) _mm512_dpwssd_epi32(acc, w, x)

/// The four sums of a0..a3's lanes, in order (integer adds: exact in any order).
S2S_AVX512 S2S_INLINE __m128i sum4(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m256i t0 = _mm256_add_epi32(_mm512_castsi512_si256(a0), _mm512_extracti64x4_epi64(a0, 1));
    __m256i t1 = _mm256_add_epi32(_mm512_castsi512_si256(a1), _mm512_extracti64x4_epi64(a1, 1));
    __m256i t2 = _mm256_add_epi32(_mm512_castsi512_si256(a2), _mm512_extracti64x4_epi64(a2, 1));
    __m256i t3 = _mm256_add_epi32(_mm512_castsi512_si256(a3), _mm512_extracti64x4_epi64(a3, 1));
    __m256i u = _mm256_hadd_epi32(_mm256_hadd_epi32(t0, t1), _mm256_hadd_epi32(t2, t3));
    return _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
}

// WB weight rows from i0 times XB quantized rows from r0 (q rows of kp elements, zero after k). With WB = 4
// and k a multiple of 16, a row's four results are finished together: ((float)Σ · scale_w) · s_x (+ y),
// each operation rounded once, as s2s_finish_i8 does one at a time.
#define S2S_DOTS_TILE(NAME, ATTR, MADD)                                                                        \
    ATTR S2S_INLINE void NAME(int WB, int XB, const int8_t *w, size_t ldw, const float *scales, int i0, int k,   \
                              const int16_t *q, int kp, const float *sx, int r0, float *y, size_t ldy,          \
                              int accumulate) {                                                                 \
        __m512i a[4][6];                                                                                        \
        S2S_UNROLL for (int b = 0; b < WB; b++)                                                                 \
            S2S_UNROLL for (int r = 0; r < XB; r++) a[b][r] = _mm512_setzero_si512();                           \
        int j = 0;                                                                                              \
        for (; j + 32 <= k; j += 32) {                                                                          \
            __m512i wv[4];                                                                                      \
            S2S_UNROLL for (int b = 0; b < WB; b++)                                                             \
                _mm_prefetch((const char *)(w + (size_t)(i0 + b) * ldw + j) + S2S_PREFETCH, _MM_HINT_T0);       \
            S2S_UNROLL for (int b = 0; b < WB; b++)                                                             \
                wv[b] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(w + (size_t)(i0 + b) * ldw + j))); \
            S2S_UNROLL for (int r = 0; r < XB; r++) {                                                           \
                __m512i xv = _mm512_loadu_si512((const void *)(q + (size_t)(r0 + r) * kp + j));                 \
                S2S_UNROLL for (int b = 0; b < WB; b++) a[b][r] = MADD(a[b][r], wv[b], xv);                     \
            }                                                                                                   \
        }                                                                                                       \
        if (j + 16 <= k) {                                                                                      \
            S2S_UNROLL for (int b = 0; b < WB; b++) {                                                           \
                __m512i wv = _mm512_cvtepi8_epi16(                                                              \
                    _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(w + (size_t)(i0 + b) * ldw + j)))); \
                S2S_UNROLL for (int r = 0; r < XB; r++) {                                                       \
                    __m512i xv = _mm512_zextsi256_si512(                                                        \
                        _mm256_loadu_si256((const __m256i *)(q + (size_t)(r0 + r) * kp + j)));                  \
                    a[b][r] = MADD(a[b][r], wv, xv);                                                            \
                }                                                                                               \
            }                                                                                                   \
            j += 16;                                                                                            \
        }                                                                                                       \
        if (WB == 4 && j == k) {                                                                                \
            __m128 sw = _mm_loadu_ps(scales + i0);                                                              \
            S2S_UNROLL for (int r = 0; r < XB; r++) {                                                           \
                __m128 v = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(sum4(a[0][r], a[1][r], a[2][r], a[3][r])), sw), \
                                      _mm_set1_ps(sx[r0 + r]));                                                 \
                float *yr = y + (size_t)(r0 + r) * ldy + i0;                                                    \
                _mm_storeu_ps(yr, accumulate ? _mm_add_ps(_mm_loadu_ps(yr), v) : v);                            \
            }                                                                                                   \
            return;                                                                                             \
        }                                                                                                       \
        S2S_UNROLL for (int b = 0; b < WB; b++) {                                                               \
            const int8_t *wr = w + (size_t)(i0 + b) * ldw;                                                      \
            S2S_UNROLL for (int r = 0; r < XB; r++) {                                                           \
                const int16_t *qr = q + (size_t)(r0 + r) * kp;                                                  \
                int32_t s = _mm512_reduce_add_epi32(a[b][r]);                                                   \
                for (int jj = j; jj < k; jj++) s += (int32_t)wr[jj] * (int32_t)qr[jj];                          \
                float *yr = y + (size_t)(r0 + r) * ldy + i0 + b;                                                \
                *yr = s2s_finish_i8(s, scales[i0 + b], sx[r0 + r], yr, accumulate);                             \
            }                                                                                                   \
        }                                                                                                       \
    }

S2S_DOTS_TILE(dots_tile, S2S_AVX512, S2S_MADD_BW)
S2S_DOTS_TILE(dots_tile_vnni, S2S_VNNI, S2S_MADD_VNNI)

#define S2S_DOTS_ROWS(TILE, WB)                                                                         \
    do {                                                                                                \
        int r = 0;                                                                                      \
        for (; r + 6 <= n; r += 6) TILE(WB, 6, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc);       \
        switch (n - r) {                                                                                \
        case 5: TILE(WB, 5, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;                    \
        case 4: TILE(WB, 4, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;                    \
        case 3: TILE(WB, 3, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;                    \
        case 2: TILE(WB, 2, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;                    \
        case 1: TILE(WB, 1, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;                    \
        }                                                                                               \
    } while (0)

S2S_AVX512 static void dots_bw(const int8_t *w, size_t ldw, const float *scales, int m, int k, const int16_t *q,
                               int kp, const float *sx, int n, float *y, size_t ldy, int acc) {
    int i = 0;
    for (; i + 4 <= m; i += 4) S2S_DOTS_ROWS(dots_tile, 4);
    for (; i < m; i++) S2S_DOTS_ROWS(dots_tile, 1);
}

S2S_VNNI static void dots_vnni(const int8_t *w, size_t ldw, const float *scales, int m, int k, const int16_t *q,
                               int kp, const float *sx, int n, float *y, size_t ldy, int acc) {
    int i = 0;
    for (; i + 4 <= m; i += 4) S2S_DOTS_ROWS(dots_tile_vnni, 4);
    for (; i < m; i++) S2S_DOTS_ROWS(dots_tile_vnni, 1);
}

void s2s_dots_i8_avx512(int vnni, const int8_t *w, size_t ldw, const float *scales, int m, int k, const int16_t *q,
                        int kp, const float *sx, int n, float *y, size_t ldy, int acc) {
    if (vnni) dots_vnni(w, ldw, scales, m, k, q, kp, sx, n, y, ldy, acc);
    else dots_bw(w, ldw, scales, m, k, q, kp, sx, n, y, ldy, acc);
}

#else
typedef int s2s_no_avx512;  // not x86: nothing here (an empty translation unit is not ISO C)
#endif
