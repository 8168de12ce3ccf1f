// Load-time conversions of float32 weights to the compute types: binary16, bfloat16 (round to nearest even)
// and symmetric int8 rows.

#include "seq2seq_kernels.h"

#include <math.h>
#include <string.h>

void s2s_to_f16(const float *src, uint16_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t x;
        memcpy(&x, &src[i], 4);
        uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
        uint32_t ax = x & 0x7FFFFFFFu;
        if (ax > 0x7F800000u) { dst[i] = sign | 0x7E00; continue; }           // NaN
        if (ax >= 0x477FF000u) { dst[i] = sign | 0x7C00; continue; }          // ≥ 65520 rounds to ∞
        if (ax < 0x38800000u) {                                               // below 2^-14: subnormal
            float a;
            memcpy(&a, &ax, 4);
            dst[i] = sign | (uint16_t)nearbyintf(a * 16777216.0f);            // a · 2^24, exact, then RNE
            continue;
        }
        uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1u);                         // round to nearest even
        dst[i] = sign | (uint16_t)((r - 0x38000000u) >> 13);
    }
}

void s2s_to_bf16(const float *src, uint16_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t x;
        memcpy(&x, &src[i], 4);
        if ((x & 0x7FFFFFFFu) > 0x7F800000u) { dst[i] = (uint16_t)((x >> 16) | 0x40); continue; }
        dst[i] = (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
    }
}

float s2s_quantize_row_i8(const float *src, int8_t *dst, size_t count) {
    float amax = 0;
    for (size_t i = 0; i < count; i++) {
        float a = fabsf(src[i]);
        if (a > amax) amax = a;
    }
    float s = amax > 0 ? amax / 127.0f : 1.0f;
    for (size_t i = 0; i < count; i++) {
        float q = nearbyintf(src[i] / s);
        if (q > 127) q = 127;
        if (q < -127) q = -127;
        dst[i] = (int8_t)q;
    }
    return s;
}
