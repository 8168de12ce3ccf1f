// The elementwise half of a recurrent step for one row (after the two matrix products), as the engine's Swift
// `cellUpdate` computed it (Sources/Seq2Seq/Layers/Cells.swift before 2026-12-02): the gates' sigmoid and tanh
// by fast_math.h on the first H - H mod 8 units, libm's expf/tanhf on the last H mod 8. Every operation is per
// unit, so 16 units with AVX-512, 8 with AVX2 or one at a time give the same bits.

#include "seq2seq_kernels.h"

#include "fast_math.h"

static inline float libm_sigmoid(float x) { return 1 / (1 + expf(-x)); }

// MARK: One unit (the fast lanes, and libm's for the tail)

static inline void rnn_unit(long j, const float *gx, const float *gh, float *h, int fast) {
    float a = gx[j] + gh[j];
    h[j] = fast ? tanh_lane(a) : tanhf(a);
}

static inline void gru_unit(long j, long H, const float *gx, const float *gh, const float *bn, float *h, int fast) {
    float ra = gx[j] + gh[j], za = gx[H + j] + gh[H + j];
    float r = fast ? sigmoid_lane(ra) : libm_sigmoid(ra);
    float z = fast ? sigmoid_lane(za) : libm_sigmoid(za);
    float na = gx[2 * H + j] + r * (gh[2 * H + j] + bn[j]);
    float n = fast ? tanh_lane(na) : tanhf(na);
    h[j] = n + z * (h[j] - n);
}

static inline void lstm_unit(long j, long H, const float *gx, const float *gh, float *h, float *c, int fast) {
    float ia = gx[j] + gh[j], fa = gx[H + j] + gh[H + j];
    float ga = gx[2 * H + j] + gh[2 * H + j], oa = gx[3 * H + j] + gh[3 * H + j];
    float i = fast ? sigmoid_lane(ia) : libm_sigmoid(ia);
    float f = fast ? sigmoid_lane(fa) : libm_sigmoid(fa);
    float g = fast ? tanh_lane(ga) : tanhf(ga);
    float o = fast ? sigmoid_lane(oa) : libm_sigmoid(oa);
    float cj = f * c[j] + i * g;
    c[j] = cj;
    h[j] = o * (fast ? tanh_lane(cj) : tanhf(cj));
}

/// Units from..<H one at a time: the fast lanes below H - H mod 8, libm above.
static void cell_units(int cell, long from, long H, const float *gx, const float *gh, const float *bn, float *h,
                       float *c) {
    const long fastEnd = H & ~7L;
    for (long j = from; j < H; j++) {
        int fast = j < fastEnd;
        switch (cell) {
        case S2S_CELL_RNN_TANH: rnn_unit(j, gx, gh, h, fast); break;
        case S2S_CELL_GRU: gru_unit(j, H, gx, gh, bn, h, fast); break;
        default: lstm_unit(j, H, gx, gh, h, c, fast); break;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)

// MARK: AVX2: 8 units at a time

/// Units from..<H - H mod 8, 8 at a time; returns where it stopped.
AVX2 static long cell_avx2(int cell, long H, long from, const float *gx, const float *gh, const float *bn, float *h,
                           float *c) {
    const long end = H & ~7L;
    long j = from;
    for (; j < end; j += 8) {
        if (cell == S2S_CELL_RNN_TANH) {
            _mm256_storeu_ps(h + j, tanh8(_mm256_add_ps(_mm256_loadu_ps(gx + j), _mm256_loadu_ps(gh + j))));
        } else if (cell == S2S_CELL_GRU) {
            __m256 r = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gx + j), _mm256_loadu_ps(gh + j)));
            __m256 z = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gx + H + j), _mm256_loadu_ps(gh + H + j)));
            __m256 hn = _mm256_add_ps(_mm256_loadu_ps(gh + 2 * H + j), _mm256_loadu_ps(bn + j));
            __m256 n = tanh8(_mm256_add_ps(_mm256_loadu_ps(gx + 2 * H + j), _mm256_mul_ps(r, hn)));
            __m256 hj = _mm256_loadu_ps(h + j);
            _mm256_storeu_ps(h + j, _mm256_add_ps(n, _mm256_mul_ps(z, _mm256_sub_ps(hj, n))));
        } else {
            __m256 i = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gx + j), _mm256_loadu_ps(gh + j)));
            __m256 f = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gx + H + j), _mm256_loadu_ps(gh + H + j)));
            __m256 g = tanh8(_mm256_add_ps(_mm256_loadu_ps(gx + 2 * H + j), _mm256_loadu_ps(gh + 2 * H + j)));
            __m256 o = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(gx + 3 * H + j), _mm256_loadu_ps(gh + 3 * H + j)));
            __m256 cj = _mm256_add_ps(_mm256_mul_ps(f, _mm256_loadu_ps(c + j)), _mm256_mul_ps(i, g));
            _mm256_storeu_ps(c + j, cj);
            _mm256_storeu_ps(h + j, _mm256_mul_ps(o, tanh8(cj)));
        }
    }
    return j;
}

// MARK: AVX-512: 16 units at a time, then AVX2 for a last block of 8 (the same bits per unit)

AVX512 static long cell_avx512(int cell, long H, const float *gx, const float *gh, const float *bn, float *h,
                               float *c) {
    const long end = H & ~15L;
    long j = 0;
    for (; j < end; j += 16) {
        if (cell == S2S_CELL_RNN_TANH) {
            _mm512_storeu_ps(h + j, tanh16(_mm512_add_ps(_mm512_loadu_ps(gx + j), _mm512_loadu_ps(gh + j))));
        } else if (cell == S2S_CELL_GRU) {
            __m512 r = sigmoid16(_mm512_add_ps(_mm512_loadu_ps(gx + j), _mm512_loadu_ps(gh + j)));
            __m512 z = sigmoid16(_mm512_add_ps(_mm512_loadu_ps(gx + H + j), _mm512_loadu_ps(gh + H + j)));
            __m512 hn = _mm512_add_ps(_mm512_loadu_ps(gh + 2 * H + j), _mm512_loadu_ps(bn + j));
            __m512 n = tanh16(_mm512_add_ps(_mm512_loadu_ps(gx + 2 * H + j), _mm512_mul_ps(r, hn)));
            __m512 hj = _mm512_loadu_ps(h + j);
            _mm512_storeu_ps(h + j, _mm512_add_ps(n, _mm512_mul_ps(z, _mm512_sub_ps(hj, n))));
        } else {
            __m512 i = sigmoid16(_mm512_add_ps(_mm512_loadu_ps(gx + j), _mm512_loadu_ps(gh + j)));
            __m512 f = sigmoid16(_mm512_add_ps(_mm512_loadu_ps(gx + H + j), _mm512_loadu_ps(gh + H + j)));
            __m512 g = tanh16(_mm512_add_ps(_mm512_loadu_ps(gx + 2 * H + j), _mm512_loadu_ps(gh + 2 * H + j)));
            __m512 o = sigmoid16(_mm512_add_ps(_mm512_loadu_ps(gx + 3 * H + j), _mm512_loadu_ps(gh + 3 * H + j)));
            __m512 cj = _mm512_add_ps(_mm512_mul_ps(f, _mm512_loadu_ps(c + j)), _mm512_mul_ps(i, g));
            _mm512_storeu_ps(c + j, cj);
            _mm512_storeu_ps(h + j, _mm512_mul_ps(o, tanh16(cj)));
        }
    }
    return cell_avx2(cell, H, j, gx, gh, bn, h, c);
}
#endif

// MARK: Entry point

void s2s_cell_update(int cell, long H, const float *gx, const float *gh, const float *bn, float *h, float *c) {
    long j = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (s2s_isa() >= S2S_ISA_AVX512) j = cell_avx512(cell, H, gx, gh, bn, h, c);
    else if (s2s_isa() >= S2S_ISA_AVX2) j = cell_avx2(cell, H, 0, gx, gh, bn, h, c);
#endif
    cell_units(cell, j, H, gx, gh, bn, h, c);
}
