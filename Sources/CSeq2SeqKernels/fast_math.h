// The engine's fast exponential, tanh and sigmoid (Sources/Seq2Seq/Layers/Math.swift's `fastExp`, `fastTanh`),
// lane by lane: one scalar lane (the reference), 8 lanes with AVX2 and 16 with AVX-512, each the same separate
// multiplies and adds in the same order (no fused multiply-add), so every width gives the same bits per lane.
// Shared by elementwise.c (vocabulary log-sum-exp, additive attention score) and cells.c (recurrent cells).
#ifndef SEQ2SEQ_FAST_MATH_H
#define SEQ2SEQ_FAST_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#endif
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


/// `1 / (1 + e^{-x})` of one lane, as the engine's `fastSigmoid`.
static inline float sigmoid_lane(float x) { return 1 / (1 + exp_lane(-x)); }

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// MARK: AVX2: 8 lanes in one 256-bit register

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

AVX2 static inline __m256 sigmoid8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)))));
}

// MARK: AVX-512: 16 lanes in one 512-bit register

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2")))

/// exp8's operations on 16 lanes.
AVX512 static inline __m512 exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.3f), magic = _mm512_set1_ps(12582912.0f);
    __mmask16 below = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    __m512 c = _mm512_mask_blend_ps(below, x, lo);
    c = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), c, hi);
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(c, _mm512_set1_ps(1.44269504f)), magic);
    __m512 n = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_sub_ps(c, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f)));
    r = _mm512_add_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(2.1219444e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.333452e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665796e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001e-1f));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r), _mm512_set1_ps(1));
    __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23));
    return _mm512_maskz_mul_ps((__mmask16)~below, p, scale);
}

/// tanh8's operations on 16 lanes.
AVX512 static inline __m512 tanh16(__m512 x) {
    const __m512 c = _mm512_set1_ps(7.90531110763549805f), mc = _mm512_set1_ps(-7.90531110763549805f);
    __m512 xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, mc, _CMP_LT_OQ), x, mc);
    xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, c, _CMP_GT_OQ), xc, c);
    __m512 x2 = _mm512_mul_ps(xc, xc);
    __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(2.00018790482477e-13f));
    p = _mm512_sub_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(8.60467152213735e-11f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(5.12229709037114e-08f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(1.48572235717979e-05f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(6.37261928875436e-04f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(4.89352455891786e-03f));
    p = _mm512_mul_ps(p, xc);
    __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(1.18534705686654e-04f));
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(2.26843463243900e-03f));
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(4.89352518554385e-03f));
    __mmask16 small = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-4e-4f), _CMP_GT_OQ) &
                      _mm512_cmp_ps_mask(x, _mm512_set1_ps(4e-4f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(small, _mm512_div_ps(p, q), x);
}

/// `s8 + low half + high half`, in that order (the 8-lane paths' two consecutive blocks).
AVX512 static inline __m512 sigmoid16(__m512 x) {
    const __m512 one = _mm512_set1_ps(1);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_xor_ps(x, _mm512_set1_ps(-0.0f)))));
}
#endif

#endif
