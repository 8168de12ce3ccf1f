// Vocabulary-wide log-sum-exp and the additive attention score, in 8 lanes with AVX2 or as 8 scalar lanes, or
// 16 at a time with AVX-512 (two blocks of 8 whose results are added to the 8 sums one block after the other):
// the same operations in the same order on every path (separate multiplies and adds, no fused multiply-add,
// lane sums in lane order), so every path gives the same bits. They are the engine's Swift `fastExp` and
// `fastTanh` (Sources/Seq2Seq/Layers/Math.swift) computed where the compiler may use 256-bit registers: the
// Swift target builds for baseline x86-64 and runs its 8-lane vectors as pairs of 4-lane SSE operations.

#include "seq2seq_kernels.h"

#include "fast_math.h"

// MARK: Scalar: 8 lanes of one-lane code

static inline float lane_sum(const float s[8]) {
    float t = s[0];
    for (int l = 1; l < 8; l++) t += s[l];
    return t;
}

static float log_sum_exp_scalar(const float *x, long n) {
    float m8[8];
    for (int l = 0; l < 8; l++) m8[l] = -INFINITY;
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++)
            if (x[i + l] > m8[l]) m8[l] = x[i + l];
    float m = m8[0];
    for (int l = 1; l < 8; l++) m = m8[l] >= m ? m8[l] : m;
    for (; i < n; i++) m = x[i] >= m ? x[i] : m;
    if (!isfinite(m)) return m;
    float s8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (i = 0; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s8[l] += exp_lane(x[i + l] - m);
    float s = lane_sum(s8);
    for (; i < n; i++) s += expf(x[i] - m);
    return m + logf(s);
}

static float additive_score_scalar(const float *q, const float *k, const float *v, long n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += v[i + l] * tanh_lane(q[i + l] + k[i + l]);
    float s = lane_sum(acc);
    for (; i < n; i++) s += v[i] * tanhf(q[i] + k[i]);
    return s;
}

// MARK: AVX2

#if defined(__x86_64__) || defined(__i386__)

/// The maximum of x (n): 8 lanes, then the lanes in order, then the last n mod 8 values (both wide paths).
AVX2 static float row_max_avx2(const float *x, long n) {
    __m256 m8 = _mm256_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        m8 = select_ps(_mm256_cmp_ps(v, m8, _CMP_GT_OQ), v, m8);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, m8);
    float m = lanes[0];
    for (int l = 1; l < 8; l++) m = lanes[l] >= m ? lanes[l] : m;
    for (; i < n; i++) m = x[i] >= m ? x[i] : m;
    return m;
}

/// From x[i] on: blocks of 8 of exp(x_j − m) added to the 8 sums s8, the lanes summed in order, expf for the
/// last n mod 8 values; returns m + log of the sum. The AVX-512 path ends with it after its blocks of 16.
AVX2 static float log_sum_from_avx2(__m256 s8, const float *x, long i, long n, float m) {
    __m256 mb = _mm256_set1_ps(m);
    for (; i + 8 <= n; i += 8) s8 = _mm256_add_ps(s8, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s8);
    float s = lane_sum(lanes);
    for (; i < n; i++) s += expf(x[i] - m);
    return m + logf(s);
}

AVX2 static float log_sum_exp_avx2(const float *x, long n) {
    float m = row_max_avx2(x, n);
    return isfinite(m) ? log_sum_from_avx2(_mm256_setzero_ps(), x, 0, n, m) : m;
}

/// From index i on: blocks of 8 of v·tanh(q + k) added to the 8 sums acc, the lanes summed in order, tanhf for
/// the last n mod 8 values. The AVX-512 path ends with it after its blocks of 16.
AVX2 static float additive_from_avx2(__m256 acc, const float *q, const float *k, const float *v, long i, long n) {
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_add_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(v + i), tanh8(a)));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float s = lane_sum(lanes);
    for (; i < n; i++) s += v[i] * tanhf(q[i] + k[i]);
    return s;
}

AVX2 static float additive_score_avx2(const float *q, const float *k, const float *v, long n) {
    return additive_from_avx2(_mm256_setzero_ps(), q, k, v, 0, n);
}

// MARK: AVX-512: two blocks of 8 per 512-bit register, added to the 8 sums in block order

AVX512 static inline __m256 add_halves(__m256 s8, __m512 v) {
    s8 = _mm256_add_ps(s8, _mm512_castps512_ps256(v));
    return _mm256_add_ps(s8, _mm512_extractf32x8_ps(v, 1));
}

AVX512 static float log_sum_exp_avx512(const float *x, long n) {
    float m = row_max_avx2(x, n);
    if (!isfinite(m)) return m;
    __m256 s8 = _mm256_setzero_ps();
    __m512 mb = _mm512_set1_ps(m);
    long i = 0;
    for (; i + 16 <= n; i += 16) s8 = add_halves(s8, exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), mb)));
    return log_sum_from_avx2(s8, x, i, n, m);
}

AVX512 static float additive_score_avx512(const float *q, const float *k, const float *v, long n) {
    __m256 acc = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 a = _mm512_add_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(k + i));
        acc = add_halves(acc, _mm512_mul_ps(_mm512_loadu_ps(v + i), tanh16(a)));
    }
    return additive_from_avx2(acc, q, k, v, i, n);
}
#endif

// MARK: Entry points

float s2s_log_sum_exp(const float *x, long n) {
#if defined(__x86_64__) || defined(__i386__)
    if (s2s_isa() >= S2S_ISA_AVX512) return log_sum_exp_avx512(x, n);
    if (s2s_isa() >= S2S_ISA_AVX2) return log_sum_exp_avx2(x, n);
#endif
    return log_sum_exp_scalar(x, n);
}

float s2s_additive_score(const float *q, const float *k, const float *v, long n) {
#if defined(__x86_64__) || defined(__i386__)
    if (s2s_isa() >= S2S_ISA_AVX512) return additive_score_avx512(q, k, v, n);
    if (s2s_isa() >= S2S_ISA_AVX2) return additive_score_avx2(q, k, v, n);
#endif
    return additive_score_scalar(q, k, v, n);
}
