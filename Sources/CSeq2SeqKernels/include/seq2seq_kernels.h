// The engine's own compute kernels (AVX2/FMA/F16C with a scalar fallback, chosen once at run time).
// Not API: only Sources/Seq2Seq/BLAS/Kernels.swift calls these. Matrices are row-major; `ld*` are
// leading dimensions in elements. No intrinsics or target attributes appear in this header.
#ifndef SEQ2SEQ_KERNELS_H
#define SEQ2SEQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types of a weight matrix.
enum {
    S2S_F32 = 0,   // float
    S2S_F16 = 1,   // IEEE binary16 bits (uint16_t)
    S2S_BF16 = 2,  // bfloat16 bits (uint16_t)
    S2S_I8 = 3,    // int8, value = scale[row] * q
};

/// Instruction sets a kernel may run with.
enum {
    S2S_ISA_SCALAR = 0,
    S2S_ISA_AVX2 = 1,    // AVX2 + FMA + F16C, with the OS saving YMM state
    S2S_ISA_AVX512 = 2,  // and AVX-512 F, BW, DQ, VL, with the OS saving ZMM and opmask state
    S2S_ISA_AVX512_VNNI = 3,  // and AVX-512 VNNI (int8 products' integer sums in one instruction)
};

/// The instruction set the kernels use: the best the CPU has, or a narrower one when the environment variable
/// SEQ2SEQ_FORCE_ISA=avx512|avx2|scalar was set when first asked. Decided once. Every one gives the same bits.
int s2s_isa(void);
/// The best instruction set this CPU supports (ignores the environment).
int s2s_isa_supported(void);
/// Forces an instruction set (tests); one the CPU lacks is ignored. Returns the one in effect.
int s2s_set_isa(int isa);
/// 1 when the CPU has AVX-512 F, CD, BW, DQ and VL and the OS saves their state (the kernels' S2S_ISA_AVX512;
/// it also tells which OpenBLAS kernels the CPU could run).
int s2s_cpu_has_avx512(void);

/// Y (n, m) = X (n, k) · Wᵀ (+ Y when `accumulate`), W (m, k) of element type `wtype` with leading dimension
/// `ldw`; for S2S_I8 row i of W is scaled by `scales[i]` (scales may be NULL for the other types).
/// Weight-stationary: each block of weight rows is read once for all n rows of X. Every element of Y is the
/// same bits whatever n, the row's position in X, the ISA and the split of m across calls.
/// Float weights (f32, f16, bf16): 16 lanes (two groups of 8) accumulate with fused multiply-adds over k in
/// blocks of 16 (then one block of 8 in the first group), a fixed tree sums the lanes, the last k mod 8 terms
/// follow one by one, then Y's old value is added.
/// int8 weights (k ≤ 32768): see s2s_product_i8; above, as the float weights with the row scale last.
void s2s_product(int wtype, const void *w, size_t ldw, const float *scales, int m, int k,
                 const float *x, size_t ldx, int n, float *y, size_t ldy, int accumulate);

/// The int8 product of s2s_product with integer dot products: each row of X is quantized to int16 with its
/// own scale s_x = max|x| / s2s_i8_activation_limit(k) (round to nearest even), Σ q_w · q_x is exact in int32,
/// and y = ((float)Σ · scales[i]) · s_x (+ Y's old value). A row of X holding NaN or ±∞ gives NaN.
/// Returns 0 (and does nothing) when k is 0 or above 32768, or SEQ2SEQ_INT8=float was set (A/B measurements).
int s2s_product_i8(const int8_t *w, size_t ldw, const float *scales, int m, int k, const float *x, size_t ldx,
                   int n, float *y, size_t ldy, int accumulate);
/// The largest |q_x| of s2s_product_i8 for a given k: 32767, or less so that k · 127 · limit < 2^31.
int s2s_i8_activation_limit(int k);

/// Y (n, d) = A (n, len) · M (len, d): each element is Σ_j a_j · m_jd by fused multiply-adds in j order,
/// whatever n (attention contexts).
void s2s_mix(int n, int len, int d, const float *a, size_t lda, const float *mem, size_t ldm,
             float *y, size_t ldy);

/// log Σ exp(x_i) over n values, max-subtracted (the engine's `fastExp` in 8 lanes, lanes summed in order, the
/// last n mod 8 terms by expf); ±∞ when the maximum is not finite. The same bits with AVX-512, AVX2 and scalar.
float s2s_log_sum_exp(const float *x, long n);
/// Σ v_i · tanh(q_i + k_i) over n values (the engine's `fastTanh` in 8 lanes, lanes summed in order, the last
/// n mod 8 terms by tanhf): the additive attention score without its bias. The same bits with AVX-512, AVX2 and
/// scalar.
float s2s_additive_score(const float *q, const float *k, const float *v, long n);

/// Recurrent cells for s2s_cell_update.
enum {
    S2S_CELL_RNN_TANH = 0,
    S2S_CELL_GRU = 1,
    S2S_CELL_LSTM = 2,
};
/// The elementwise half of a recurrent step for one row, in place. gx (G·H): W_ih·x plus the folded input bias;
/// gh (G·H): W_hh·h, no bias; bn (H): the GRU's hidden bias of its n gate (else unused, may be NULL); h (H) and,
/// for an LSTM, c (H): the state. Gates r, z, n (GRU: h' = n + z·(h − n), n = tanh(x_n + r·(h_n + b_n))) or
/// i, f, g, o (LSTM: c' = f·c + i·g, h' = o·tanh(c')). The engine's fast sigmoid and tanh on the first
/// H − H mod 8 units, libm's on the rest; the same bits with AVX-512, AVX2 and scalar.
void s2s_cell_update(int cell, long H, const float *gx, const float *gh, const float *bn, float *h, float *c);

/// out (m, k), contiguous = the f16/bf16 (or f32) weight W (m, k) with leading dimension ldw, widened exactly to
/// float32 (for a GEMM over many rows).
void s2s_widen(int wtype, const void *w, size_t ldw, int m, int k, float *out);
/// A float buffer of at least `count` elements owned by the calling thread, grown (freed and allocated again)
/// when too small, so after the first call of a given size it allocates nothing; freed when the thread exits;
/// NULL if allocation fails.
float *s2s_thread_scratch(size_t count);
/// The calling thread's batch-invariant flag (0 or 1; 0 on a new thread): the engine's
/// `ProductPolicy.batchInvariant`, a thread's own so that setting it allocates nothing.
int s2s_thread_batch_invariant(void);
/// Sets the calling thread's batch-invariant flag.
void s2s_set_thread_batch_invariant(int on);

/// Converts `count` floats to binary16 / bfloat16 bits, round to nearest even (NaN stays NaN).
void s2s_to_f16(const float *src, uint16_t *dst, size_t count);
void s2s_to_bf16(const float *src, uint16_t *dst, size_t count);
/// One row: q_j = round(x_j / s) clamped to [-127, 127] with s = max|x| / 127 (s = 1 for an all-zero row);
/// returns s.
float s2s_quantize_row_i8(const float *src, int8_t *dst, size_t count);

/// A spin-wait hint (x86 `pause`, aarch64 `yield`; nothing elsewhere): for a thread polling a flag another
/// thread will set, so that it uses less of the core and notices the change as soon as it is visible.
static inline void s2s_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
#endif
