// int8 weight products with integer dot products: each activation row is quantized once per call to int16
// (symmetric, one scale per row, at most s2s_i8_activation_limit(k) in magnitude), the dot products of int8
// weights and int16 activations are summed exactly in int32, and the sum is scaled back to float:
// y = ((float)Σ q_w·q_x · scale_w[i]) · scale_x[r].
//
// Integer sums are exact, so the order of the terms cannot matter: the AVX2 path (vpmovsxbw, vpmaddwd, vpaddd)
// and the scalar path give the same bits for any row count, row position, thread split and ISA, and the
// quantization of a row depends on that row alone. The int16 activation step is max|x| / limit (limit is
// 32767 for k ≤ 516, 16383 for k ≤ 1032, ...), far below the int8 weights' own error.

#include "kernels_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#endif
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) || defined(__i386__)
#define S2S_X86 1
#include <immintrin.h>
#else
#define S2S_X86 0
#endif

#define S2S_INLINE static inline __attribute__((always_inline))
/// Bytes ahead of the current position prefetched in each weight row (see product.c).
#define S2S_PREFETCH 4096

/// int16 elements of quantized activations kept on the stack (64 KiB); more rows are done in groups.
#define XQ_CAP 32768
/// Rows of activations quantized together at most.
#define XQ_ROWS 64

int s2s_i8_activation_limit(int k) {
    long a = 2147483647L / (127L * (long)(k > 0 ? k : 1));
    return a > 32767 ? 32767 : (int)a;
}

static int padded(int k) { return (k + 15) & ~15; }

// MARK: - Scalar path

/// Quantizes x (k) into q (padded(k), zeros after k); returns the row's scale (NaN if x holds NaN or ±∞).
static float quantize_scalar(const float *x, int k, int limit, int16_t *q) {
    float amax = 0;
    int special = 0;
    for (int j = 0; j < k; j++) {
        float a = fabsf(x[j]);
        special |= !(a <= 3.4028234e38f);  // NaN or ±∞
        if (a > amax) amax = a;
    }
    memset(q, 0, sizeof(int16_t) * (size_t)padded(k));
    if (special) return NAN;
    if (amax == 0) return 0;
    float inv = (float)limit / amax;
    for (int j = 0; j < k; j++) {
        float v = nearbyintf(x[j] * inv);
        if (v > (float)limit) v = (float)limit;
        if (v < -(float)limit) v = -(float)limit;
        q[j] = (int16_t)v;
    }
    return amax / (float)limit;
}

static void dots_scalar(const int8_t *w, size_t ldw, const float *scales, int m, int k, const int16_t *q,
                        const float *sx, int n, float *y, size_t ldy, int accumulate) {
    int kp = padded(k);
    for (int i = 0; i < m; i++) {
        const int8_t *wr = w + (size_t)i * ldw;
        for (int r = 0; r < n; r++) {
            const int16_t *qr = q + (size_t)r * kp;
            int32_t s = 0;
            for (int j = 0; j < k; j++) s += (int32_t)wr[j] * (int32_t)qr[j];
            float *yr = y + (size_t)r * ldy + i;
            *yr = s2s_finish_i8(s, scales[i], sx[r], yr, accumulate);
        }
    }
}

// MARK: - AVX2 path

#if S2S_X86
#define S2S_AVX2 __attribute__((target("avx2,fma,f16c")))

/// The same values as quantize_scalar: the same products x·inv, rounded to nearest even by the default MXCSR.
S2S_AVX2 static float quantize_avx2(const float *x, int k, int limit, int16_t *q) {
    __m256 sign = _mm256_set1_ps(-0.0f), m8 = _mm256_setzero_ps();
    int j = 0;
    float amax = 0;
    for (; j + 8 <= k; j += 8) {
        __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j));
        __m256 nan = _mm256_cmp_ps(a, a, _CMP_UNORD_Q);
        if (_mm256_movemask_ps(nan)) return quantize_scalar(x, k, limit, q);
        m8 = _mm256_max_ps(m8, a);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, m8);
    for (int l = 0; l < 8; l++) amax = lanes[l] > amax ? lanes[l] : amax;
    for (; j < k; j++) {
        float a = fabsf(x[j]);
        if (!(a <= 3.4028234e38f)) return quantize_scalar(x, k, limit, q);
        if (a > amax) amax = a;
    }
    if (!(amax <= 3.4028234e38f) || amax == 0) return quantize_scalar(x, k, limit, q);
    int kp = padded(k);
    float inv = (float)limit / amax;
    __m256 vinv = _mm256_set1_ps(inv);
    __m256i hi = _mm256_set1_epi32(limit), lo = _mm256_set1_epi32(-limit);
    j = 0;
    for (; j + 16 <= k; j += 16) {
        __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j), vinv));
        __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), vinv));
        a = _mm256_max_epi32(_mm256_min_epi32(a, hi), lo);
        b = _mm256_max_epi32(_mm256_min_epi32(b, hi), lo);
        _mm256_storeu_si256((__m256i *)(q + j), _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
    }
    for (; j < k; j++) {
        float v = nearbyintf(x[j] * inv);
        if (v > (float)limit) v = (float)limit;
        if (v < -(float)limit) v = -(float)limit;
        q[j] = (int16_t)v;
    }
    for (; j < kp; j++) q[j] = 0;
    return amax / (float)limit;
}

S2S_AVX2 S2S_INLINE int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// WB weight rows from i0 times XB quantized rows from r0.
S2S_AVX2 S2S_INLINE void dots_tile(int WB, int XB, const int8_t *w, size_t ldw, const float *scales, int i0, int k,
                                   const int16_t *q, int kp, const float *sx, int r0, float *y, size_t ldy,
                                   int accumulate) {
    __m256i a[4][4];
    for (int b = 0; b < WB; b++)
        for (int r = 0; r < XB; r++) a[b][r] = _mm256_setzero_si256();
    int j = 0;
    for (; j + 16 <= k; j += 16) {
        __m256i wv[4];
        for (int b = 0; b < WB; b++) _mm_prefetch((const char *)(w + (size_t)(i0 + b) * ldw + j) + S2S_PREFETCH, _MM_HINT_T0);
        for (int b = 0; b < WB; b++)
            wv[b] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + (size_t)(i0 + b) * ldw + j)));
        for (int r = 0; r < XB; r++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(q + (size_t)(r0 + r) * kp + j));
            for (int b = 0; b < WB; b++) a[b][r] = _mm256_add_epi32(a[b][r], _mm256_madd_epi16(wv[b], xv));
        }
    }
    for (int b = 0; b < WB; b++) {
        const int8_t *wr = w + (size_t)(i0 + b) * ldw;
        for (int r = 0; r < XB; r++) {
            const int16_t *qr = q + (size_t)(r0 + r) * kp;
            int32_t s = hsum_epi32(a[b][r]);
            for (int jj = j; jj < k; jj++) s += (int32_t)wr[jj] * (int32_t)qr[jj];
            float *yr = y + (size_t)(r0 + r) * ldy + i0 + b;
            *yr = s2s_finish_i8(s, scales[i0 + b], sx[r0 + r], yr, accumulate);
        }
    }
}

S2S_AVX2 static void dots_avx2(const int8_t *w, size_t ldw, const float *scales, int m, int k, const int16_t *q,
                               const float *sx, int n, float *y, size_t ldy, int acc) {
    int kp = padded(k), i = 0;
    if (n == 1) {
        for (; i + 4 <= m; i += 4) dots_tile(4, 1, w, ldw, scales, i, k, q, kp, sx, 0, y, ldy, acc);
        for (; i < m; i++) dots_tile(1, 1, w, ldw, scales, i, k, q, kp, sx, 0, y, ldy, acc);
        return;
    }
    for (; i + 2 <= m; i += 2) {
        int r = 0;
        for (; r + 4 <= n; r += 4) dots_tile(2, 4, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc);
        switch (n - r) {
        case 3: dots_tile(2, 3, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;
        case 2: dots_tile(2, 2, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;
        case 1: dots_tile(2, 1, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc); break;
        }
    }
    for (; i < m; i++) {
        int r = 0;
        for (; r + 4 <= n; r += 4) dots_tile(1, 4, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc);
        for (; r < n; r++) dots_tile(1, 1, w, ldw, scales, i, k, q, kp, sx, r, y, ldy, acc);
    }
}
#endif

// MARK: - Entry

/// SEQ2SEQ_INT8=float in the environment turns the integer path off (float conversions of the weights, as
/// before it existed), for A/B measurements in one binary. Read once.
static int integer_path(void) {
    static int on = -1;
    int v = __atomic_load_n(&on, __ATOMIC_ACQUIRE);
    if (v < 0) {
        const char *e = getenv("SEQ2SEQ_INT8");
        v = !(e && strcmp(e, "float") == 0);
        __atomic_store_n(&on, v, __ATOMIC_RELEASE);
    }
    return v;
}

int s2s_product_i8(const int8_t *w, size_t ldw, const float *scales, int m, int k, const float *x, size_t ldx,
                   int n, float *y, size_t ldy, int accumulate) {
    int kp = padded(k);
    if (k <= 0 || kp > XQ_CAP || !integer_path()) return 0;
    int16_t q[XQ_CAP];
    float sx[XQ_ROWS];
    int group = XQ_CAP / kp;
    if (group > XQ_ROWS) group = XQ_ROWS;
    int limit = s2s_i8_activation_limit(k);
#if S2S_X86
    int isa = s2s_isa(), avx2 = isa >= S2S_ISA_AVX2;
#endif
    for (int r0 = 0; r0 < n; r0 += group) {
        int g = n - r0 < group ? n - r0 : group;
        for (int r = 0; r < g; r++) {
            const float *xr = x + (size_t)(r0 + r) * ldx;
#if S2S_X86
            if (avx2) { sx[r] = quantize_avx2(xr, k, limit, q + (size_t)r * kp); continue; }
#endif
            sx[r] = quantize_scalar(xr, k, limit, q + (size_t)r * kp);
        }
        float *yg = y + (size_t)r0 * ldy;
#if S2S_X86
        if (isa >= S2S_ISA_AVX512) { s2s_dots_i8_avx512(isa == S2S_ISA_AVX512_VNNI, w, ldw, scales, m, k, q, kp, sx, g, yg, ldy, accumulate); continue; }
        if (avx2) { dots_avx2(w, ldw, scales, m, k, q, sx, g, yg, ldy, accumulate); continue; }
#endif
        dots_scalar(w, ldw, scales, m, k, q, sx, g, yg, ldy, accumulate);
    }
    return 1;
}
