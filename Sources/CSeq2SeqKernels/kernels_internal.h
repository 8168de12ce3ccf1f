// What the kernels' C files share (not in include/: no Swift code sees it).
#ifndef SEQ2SEQ_KERNELS_INTERNAL_H
#define SEQ2SEQ_KERNELS_INTERNAL_H

#include "seq2seq_kernels.h"

#include <string.h>

/// binary16 bits to float, exactly.
static inline __attribute__((always_inline)) float s2s_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        float v = (float)mant * 5.9604644775390625e-8f;  // mant · 2^-24, exact
        return sign ? -v : v;
    }
    if (exp == 31) bits = sign | 0x7F800000u | (mant << 13);
    else bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// Element `off` of a weight of type `t` (S2S_F32, S2S_F16, S2S_BF16, S2S_I8 unscaled) as float, exactly.
static inline __attribute__((always_inline)) float s2s_scalar_load(int t, const void *w, size_t off) {
    switch (t) {
    case S2S_F32: return ((const float *)w)[off];
    case S2S_F16: return s2s_half_to_float(((const uint16_t *)w)[off]);
    case S2S_BF16: {
        uint32_t bits = (uint32_t)((const uint16_t *)w)[off] << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    default: return (float)((const int8_t *)w)[off];
    }
}

/// An int8 product's element: ((float)Σ · weight row scale) · activation row scale, plus Y's old value when
/// accumulating.
static inline __attribute__((always_inline)) float s2s_finish_i8(int32_t total, float sw, float sx, const float *y,
                                                                 int accumulate) {
    float v = ((float)total * sw) * sx;
    return accumulate ? *y + v : v;
}

/// s2s_product's float-weight path with AVX-512 (product_avx512.c); same bits as the AVX2 and scalar paths.
void s2s_product_avx512(int t, const void *w, size_t ldw, const float *scales, int m, int k, const float *x,
                        size_t ldx, int n, float *y, size_t ldy, int accumulate);
/// s2s_product_i8's integer dot products with AVX-512 BW (and VNNI's vpdpwssd when `vnni`) over quantized rows
/// q (n, kp) with scales sx (n).
void s2s_dots_i8_avx512(int vnni, const int8_t *w, size_t ldw, const float *scales, int m, int k, const int16_t *q, int kp,
                        const float *sx, int n, float *y, size_t ldy, int accumulate);

#endif
