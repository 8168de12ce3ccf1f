// Vocabulary-wide log-sum-exp and the additive attention score, in 8 lanes with AVX2 or as 8 scalar lanes:
// the same operations in the same order on every path (separate multiplies and adds, no fused multiply-add,
// lane sums in lane order), so every path gives the same bits. They are the engine's Swift `fastExp` and
// `fastTanh` (Sources/Seq2Seq/Layers/Math.swift) computed where the compiler may use 256-bit registers: the
// Swift target builds for baseline x86-64 and runs its 8-lane vectors as pairs of 4-lane SSE operations.

#include "seq2seq_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

// MARK: One lane, scalar (the reference for every path)

static inline float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// `fastExp` of one lane: Cody-Waite range reduction and a degree-6 polynomial.
static inline float exp_lane(float x) {
    const float lo = -87.3f, hi = 88.3f, magic = 12582912.0f;
    float c = x < lo ? lo : x;
    c = x > hi ? hi : c;
    float shifted = c * 1.44269504f + magic;
    float n = shifted - magic;
    float r = c - n * 0.693359375f;
    r = r + n * 2.1219444e-4f;
    float p = 1.9875691e-4f;
    p = p * r + 1.3981999e-3f;
    p = p * r + 8.333452e-3f;
    p = p * r + 4.1665796e-2f;
    p = p * r + 1.6666665e-1f;
    p = p * r + 5.0000001e-1f;
    p = p * r * r + r + 1;
    int32_t ni = (int32_t)(float_to_bits(shifted) - 0x4B400000u);
    float scale = bits_to_float((uint32_t)(ni + 127) << 23);
    return x < lo ? 0 : p * scale;
}

// `fastTanh` of one lane: Eigen's rational approximation, `x` itself below |x| < 4e-4.
static inline float tanh_lane(float x) {
    const float c = 7.90531110763549805f;
    float xc = x < -c ? -c : x;
    xc = x > c ? c : xc;
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return (x > -4e-4f && x < 4e-4f) ? x : p / q;
}

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

// MARK: AVX2: the same lanes in one 256-bit register

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256 select_ps(__m256 mask, __m256 yes, __m256 no) { return _mm256_blendv_ps(no, yes, mask); }

AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.3f), magic = _mm256_set1_ps(12582912.0f);
    __m256 below = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 c = select_ps(below, lo, x);
    c = select_ps(_mm256_cmp_ps(x, hi, _CMP_GT_OQ), hi, c);
    __m256 shifted = _mm256_add_ps(_mm256_mul_ps(c, _mm256_set1_ps(1.44269504f)), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_sub_ps(c, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f)));
    r = _mm256_add_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(2.1219444e-4f)));
    __m256 p = _mm256_set1_ps(1.9875691e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.333452e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665796e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001e-1f));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, r), r), r), _mm256_set1_ps(1));
    __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    return select_ps(below, _mm256_setzero_ps(), _mm256_mul_ps(p, scale));
}

AVX2 static inline __m256 tanh8(__m256 x) {
    const __m256 c = _mm256_set1_ps(7.90531110763549805f), mc = _mm256_set1_ps(-7.90531110763549805f);
    __m256 xc = select_ps(_mm256_cmp_ps(x, mc, _CMP_LT_OQ), mc, x);
    xc = select_ps(_mm256_cmp_ps(x, c, _CMP_GT_OQ), c, xc);
    __m256 x2 = _mm256_mul_ps(xc, xc);
    __m256 p = _mm256_set1_ps(-2.76076847742355e-16f);
    p = _mm256_add_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_sub_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(8.60467152213735e-11f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x2), _mm256_set1_ps(4.89352455891786e-03f));
    p = _mm256_mul_ps(p, xc);
    __m256 q = _mm256_set1_ps(1.19825839466702e-06f);
    q = _mm256_add_ps(_mm256_mul_ps(q, x2), _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_add_ps(_mm256_mul_ps(q, x2), _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_add_ps(_mm256_mul_ps(q, x2), _mm256_set1_ps(4.89352518554385e-03f));
    __m256 small = _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(-4e-4f), _CMP_GT_OQ),
                                 _mm256_cmp_ps(x, _mm256_set1_ps(4e-4f), _CMP_LT_OQ));
    return select_ps(small, x, _mm256_div_ps(p, q));
}

AVX2 static float log_sum_exp_avx2(const float *x, long n) {
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
    if (!isfinite(m)) return m;
    __m256 s8 = _mm256_setzero_ps(), mb = _mm256_set1_ps(m);
    for (i = 0; i + 8 <= n; i += 8) s8 = _mm256_add_ps(s8, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb)));
    _mm256_storeu_ps(lanes, s8);
    float s = lane_sum(lanes);
    for (; i < n; i++) s += expf(x[i] - m);
    return m + logf(s);
}

AVX2 static float additive_score_avx2(const float *q, const float *k, const float *v, long n) {
    __m256 acc = _mm256_setzero_ps();
    long i = 0;
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
#endif

// MARK: Entry points

float s2s_log_sum_exp(const float *x, long n) {
#if defined(__x86_64__) || defined(__i386__)
    if (s2s_isa() >= S2S_ISA_AVX2) return log_sum_exp_avx2(x, n);
#endif
    return log_sum_exp_scalar(x, n);
}

float s2s_additive_score(const float *q, const float *k, const float *v, long n) {
#if defined(__x86_64__) || defined(__i386__)
    if (s2s_isa() >= S2S_ISA_AVX2) return additive_score_avx2(q, k, v, n);
#endif
    return additive_score_scalar(q, k, v, n);
}
