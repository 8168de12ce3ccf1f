// Weight-stationary products over f32/f16/bf16 weights with f32 activations and f32 accumulation (and int8
// weights for k > 32768, see product_i8.c for the usual int8 path).
//
// One reduction order for every element, whatever the number of rows, the instruction set or the thread
// split (see s2s_product in the header): the AVX2 path and the scalar path give the same bits, because
// every conversion to float is exact, every multiply-add is fused (IEEE fma in both) and the lane partition
// and the horizontal sum tree are the same. Floating-point contraction is off in this file so that the
// compiler cannot fuse the remaining adds and multiplies differently in the two paths.
//
// AVX2/FMA/F16C code is compiled through function-level target attributes, so the file builds for baseline
// x86-64 (and for any other architecture, scalar only), and it runs only after CPUID says the CPU has them.

#include "kernels_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
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
/// Bytes ahead of the current position that the 16-bit and int8 products prefetch in each weight row.
#define S2S_PREFETCH 4096

// MARK: - Scalar element access (exact conversions)

S2S_INLINE void finish(float s, const float *scales, int i, float *y, int accumulate) {
    float v = s;
    if (scales) v = v * scales[i];
    *y = accumulate ? *y + v : v;
}

// MARK: - Scalar path

static float scalar_dot(int t, const void *wrow, const float *x, int k) {
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= k; j += 16)
        for (int l = 0; l < 16; l++) acc[l] = fmaf(s2s_scalar_load(t, wrow, (size_t)(j + l)), x[j + l], acc[l]);
    if (j + 8 <= k) {
        for (int l = 0; l < 8; l++) acc[l] = fmaf(s2s_scalar_load(t, wrow, (size_t)(j + l)), x[j + l], acc[l]);
        j += 8;
    }
    float v[8], t4[4], t2[2];
    for (int l = 0; l < 8; l++) v[l] = acc[l] + acc[8 + l];
    for (int l = 0; l < 4; l++) t4[l] = v[l] + v[4 + l];
    t2[0] = t4[0] + t4[2];
    t2[1] = t4[1] + t4[3];
    float s = t2[0] + t2[1];
    for (; j < k; j++) s = fmaf(s2s_scalar_load(t, wrow, (size_t)j), x[j], s);
    return s;
}

static size_t elem_size(int t) { return t == S2S_F32 ? 4 : t == S2S_I8 ? 1 : 2; }

static void product_scalar(int t, const void *w, size_t ldw, const float *scales, int m, int k,
                           const float *x, size_t ldx, int n, float *y, size_t ldy, int accumulate) {
    size_t es = elem_size(t);
    for (int i = 0; i < m; i++) {
        const void *wrow = (const char *)w + (size_t)i * ldw * es;
        for (int r = 0; r < n; r++)
            finish(scalar_dot(t, wrow, x + (size_t)r * ldx, k), scales, i, y + (size_t)r * ldy + i, accumulate);
    }
}

static void mix_scalar(int n, int len, int d, const float *a, size_t lda, const float *mem, size_t ldm,
                       float *y, size_t ldy) {
    for (int r = 0; r < n; r++)
        for (int c = 0; c < d; c++) {
            float s = 0;
            for (int j = 0; j < len; j++) s = fmaf(a[(size_t)r * lda + j], mem[(size_t)j * ldm + c], s);
            y[(size_t)r * ldy + c] = s;
        }
}

// MARK: - AVX2 + FMA + F16C path

#if S2S_X86
#define S2S_AVX2 __attribute__((target("avx2,fma,f16c")))

S2S_AVX2 S2S_INLINE __m256 avx_load8(int t, const void *w, size_t off) {
    switch (t) {
    case S2S_F32: return _mm256_loadu_ps((const float *)w + off);
    case S2S_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + off)));
    case S2S_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + off))), 16));
    default: return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)w + off))));
    }
}

S2S_AVX2 S2S_INLINE float avx_hsum(__m256 a0, __m256 a1) {
    __m256 v = _mm256_add_ps(a0, a1);
    __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1)));
}

// WB weight rows from i0 times XB activation rows from r0: 2·WB·XB accumulators.
S2S_AVX2 S2S_INLINE void avx_tile(int t, int WB, int XB, const void *w, size_t ldw, const float *scales,
                                  int i0, int k, const float *x, size_t ldx, int r0, float *y, size_t ldy,
                                  int accumulate) {
    __m256 a[4][3][2];
    for (int b = 0; b < WB; b++)
        for (int r = 0; r < XB; r++) a[b][r][0] = a[b][r][1] = _mm256_setzero_ps();
    int j = 0;
    for (; j + 16 <= k; j += 16) {
        __m256 wv[4][2];
        // 16-bit weights: software prefetch 4 KiB ahead in each row (from memory, 1.3-1.6x on one core here;
        // float32 rows stream fast enough without it, and slower with it).
        if (t == S2S_F16 || t == S2S_BF16)
            for (int b = 0; b < WB; b++)
                _mm_prefetch((const char *)w + ((size_t)(i0 + b) * ldw + (size_t)j) * 2 + S2S_PREFETCH, _MM_HINT_T0);
        for (int b = 0; b < WB; b++) {
            wv[b][0] = avx_load8(t, w, (size_t)(i0 + b) * ldw + (size_t)j);
            wv[b][1] = avx_load8(t, w, (size_t)(i0 + b) * ldw + (size_t)j + 8);
        }
        for (int r = 0; r < XB; r++) {
            const float *xr = x + (size_t)(r0 + r) * ldx + j;
            __m256 x0 = _mm256_loadu_ps(xr), x1 = _mm256_loadu_ps(xr + 8);
            for (int b = 0; b < WB; b++) {
                a[b][r][0] = _mm256_fmadd_ps(wv[b][0], x0, a[b][r][0]);
                a[b][r][1] = _mm256_fmadd_ps(wv[b][1], x1, a[b][r][1]);
            }
        }
    }
    if (j + 8 <= k) {
        for (int b = 0; b < WB; b++) {
            __m256 wv = avx_load8(t, w, (size_t)(i0 + b) * ldw + (size_t)j);
            for (int r = 0; r < XB; r++)
                a[b][r][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)(r0 + r) * ldx + j), a[b][r][0]);
        }
        j += 8;
    }
    for (int b = 0; b < WB; b++)
        for (int r = 0; r < XB; r++) {
            float s = avx_hsum(a[b][r][0], a[b][r][1]);
            const float *xr = x + (size_t)(r0 + r) * ldx;
            for (int jj = j; jj < k; jj++)
                s = fmaf(s2s_scalar_load(t, w, (size_t)(i0 + b) * ldw + (size_t)jj), xr[jj], s);
            finish(s, scales, i0 + b, y + (size_t)(r0 + r) * ldy + i0 + b, accumulate);
        }
}

S2S_AVX2 S2S_INLINE void avx_product_t(int t, const void *w, size_t ldw, const float *scales, int m, int k,
                                       const float *x, size_t ldx, int n, float *y, size_t ldy, int acc) {
    int i = 0;
    if (n == 1) {
        for (; i + 4 <= m; i += 4) avx_tile(t, 4, 1, w, ldw, scales, i, k, x, ldx, 0, y, ldy, acc);
        for (; i < m; i++) avx_tile(t, 1, 1, w, ldw, scales, i, k, x, ldx, 0, y, ldy, acc);
        return;
    }
    for (; i + 2 <= m; i += 2) {
        int r = 0;
        for (; r + 3 <= n; r += 3) avx_tile(t, 2, 3, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc);
        if (n - r == 2) avx_tile(t, 2, 2, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc);
        else if (n - r == 1) avx_tile(t, 2, 1, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc);
    }
    for (; i < m; i++) {
        int r = 0;
        for (; r + 3 <= n; r += 3) avx_tile(t, 1, 3, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc);
        if (n - r == 2) avx_tile(t, 1, 2, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc);
        else if (n - r == 1) avx_tile(t, 1, 1, w, ldw, scales, i, k, x, ldx, r, y, ldy, acc);
    }
}

S2S_AVX2 static void product_avx2(int t, const void *w, size_t ldw, const float *scales, int m, int k,
                                  const float *x, size_t ldx, int n, float *y, size_t ldy, int acc) {
    switch (t) {
    case S2S_F32: avx_product_t(S2S_F32, w, ldw, scales, m, k, x, ldx, n, y, ldy, acc); break;
    case S2S_F16: avx_product_t(S2S_F16, w, ldw, scales, m, k, x, ldx, n, y, ldy, acc); break;
    case S2S_BF16: avx_product_t(S2S_BF16, w, ldw, scales, m, k, x, ldx, n, y, ldy, acc); break;
    default: avx_product_t(S2S_I8, w, ldw, scales, m, k, x, ldx, n, y, ldy, acc); break;
    }
}

S2S_AVX2 static void widen_avx2(int t, const void *w, size_t ldw, int m, int k, float *out) {
    for (int i = 0; i < m; i++) {
        float *o = out + (size_t)i * (size_t)k;
        int j = 0;
        for (; j + 8 <= k; j += 8) _mm256_storeu_ps(o + j, avx_load8(t, w, (size_t)i * ldw + (size_t)j));
        for (; j < k; j++) o[j] = s2s_scalar_load(t, w, (size_t)i * ldw + (size_t)j);
    }
}

S2S_AVX2 static void mix_avx2(int n, int len, int d, const float *a, size_t lda, const float *mem, size_t ldm,
                              float *y, size_t ldy) {
    for (int r = 0; r < n; r++) {
        const float *ar = a + (size_t)r * lda;
        float *yr = y + (size_t)r * ldy;
        int c = 0;
        for (; c + 16 <= d; c += 16) {
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
            for (int j = 0; j < len; j++) {
                __m256 aj = _mm256_broadcast_ss(ar + j);
                s0 = _mm256_fmadd_ps(aj, _mm256_loadu_ps(mem + (size_t)j * ldm + c), s0);
                s1 = _mm256_fmadd_ps(aj, _mm256_loadu_ps(mem + (size_t)j * ldm + c + 8), s1);
            }
            _mm256_storeu_ps(yr + c, s0);
            _mm256_storeu_ps(yr + c + 8, s1);
        }
        for (; c < d; c++) {
            float s = 0;
            for (int j = 0; j < len; j++) s = fmaf(ar[j], mem[(size_t)j * ldm + c], s);
            yr[c] = s;
        }
    }
}
#endif

// MARK: - Dispatch

void s2s_product(int wtype, const void *w, size_t ldw, const float *scales, int m, int k,
                 const float *x, size_t ldx, int n, float *y, size_t ldy, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (wtype == S2S_I8 && s2s_product_i8(w, ldw, scales, m, k, x, ldx, n, y, ldy, accumulate)) return;
#if S2S_X86
    if (s2s_isa() >= S2S_ISA_AVX512) {
        s2s_product_avx512(wtype, w, ldw, scales, m, k, x, ldx, n, y, ldy, accumulate);
        return;
    }
    if (s2s_isa() == S2S_ISA_AVX2) {
        product_avx2(wtype, w, ldw, scales, m, k, x, ldx, n, y, ldy, accumulate);
        return;
    }
#endif
    product_scalar(wtype, w, ldw, scales, m, k, x, ldx, n, y, ldy, accumulate);
}

void s2s_widen(int wtype, const void *w, size_t ldw, int m, int k, float *out) {
#if S2S_X86
    if (s2s_isa() >= S2S_ISA_AVX2) {
        widen_avx2(wtype, w, ldw, m, k, out);
        return;
    }
#endif
    for (int i = 0; i < m; i++)
        for (int j = 0; j < k; j++) out[(size_t)i * (size_t)k + j] = s2s_scalar_load(wtype, w, (size_t)i * ldw + (size_t)j);
}

/// A thread's scratch: its capacity in floats, then the floats. Freed by the key's destructor when the thread
/// exits (a thread-local pointer alone would leak it with every pool or dispatch thread that ends).
typedef struct {
    size_t capacity;
    float data[];
} scratch_block;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_make_key(void) { scratch_key_ok = pthread_key_create(&scratch_key, free) == 0; }

float *s2s_thread_scratch(size_t count) {
    pthread_once(&scratch_once, scratch_make_key);
    if (!scratch_key_ok) return NULL;
    scratch_block *block = pthread_getspecific(scratch_key);
    if (block && block->capacity >= count) return block->data;
    free(block);
    pthread_setspecific(scratch_key, NULL);
    if (count > (SIZE_MAX - sizeof(scratch_block)) / sizeof(float)) return NULL;
    block = malloc(sizeof(scratch_block) + sizeof(float) * count);
    if (!block) return NULL;
    block->capacity = count;
    if (pthread_setspecific(scratch_key, block) != 0) {
        free(block);
        return NULL;
    }
    return block->data;
}

static _Thread_local int batch_invariant;

int s2s_thread_batch_invariant(void) { return batch_invariant; }

void s2s_set_thread_batch_invariant(int on) { batch_invariant = on != 0; }

void s2s_mix(int n, int len, int d, const float *a, size_t lda, const float *mem, size_t ldm, float *y, size_t ldy) {
    if (n <= 0 || d <= 0) return;
#if S2S_X86
    if (s2s_isa() >= S2S_ISA_AVX2) {
        mix_avx2(n, len, d, a, lda, mem, ldm, y, ldy);
        return;
    }
#endif
    mix_scalar(n, len, d, a, lda, mem, ldm, y, ldy);
}

