// The engine's weight-stationary product (s2s_product) on one thread, every instruction set the CPU has, in one
// process: the shapes of the date model's, B1's and B2's decoder products at 1, 5 and 32 rows. Best of 7
// timings of repeated calls.
// Build and run: Benchmarks/kernels/run.sh
#include "seq2seq_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void) {
    static const int shapes[][3] = {  // m (weight rows), k, n (activation rows)
        {384, 288, 1}, {384, 128, 1},                            // the date model's decoder GRU (W_ih, W_hh)
        {8000, 256, 1}, {8000, 256, 5}, {8000, 256, 32},        // B1's output layer
        {768, 512, 1}, {768, 512, 32},                           // B1's GRU input weights
        {32000, 512, 1}, {32000, 512, 5}, {32000, 512, 32},     // B2's output layer
        {2048, 1024, 5}, {2048, 1024, 32},                      // B2's first LSTM layer
    };
    static const char *isaNames[] = {"scalar", "avx2", "avx512", "avx512vnni"};
    static const int types[] = {S2S_F32, S2S_F16, S2S_I8};
    static const char *typeNames[] = {"float32", "float16", "int8"};
    int best = s2s_isa_supported();
    srand(1);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *w = malloc(sizeof(float) * (size_t)m * (size_t)k), *x = malloc(sizeof(float) * (size_t)n * (size_t)k);
        float *y = malloc(sizeof(float) * (size_t)n * (size_t)m), *scales = malloc(sizeof(float) * (size_t)m);
        uint16_t *h = malloc(2 * (size_t)m * (size_t)k);
        int8_t *q = malloc((size_t)m * (size_t)k);
        for (size_t i = 0; i < (size_t)m * (size_t)k; i++) w[i] = (float)(rand() % 2001 - 1000) * 1e-3f;
        for (size_t i = 0; i < (size_t)n * (size_t)k; i++) x[i] = (float)(rand() % 2001 - 1000) * 1e-3f;
        for (int i = 0; i < m; i++) scales[i] = s2s_quantize_row_i8(w + (size_t)i * (size_t)k, q + (size_t)i * (size_t)k, k);
        s2s_to_f16(w, h, (size_t)m * (size_t)k);
        for (int ti = 0; ti < 3; ti++) {
            const void *wp = types[ti] == S2S_F32 ? (const void *)w : types[ti] == S2S_F16 ? (const void *)h : (const void *)q;
            printf("m %5d k %4d n %2d %-8s", m, k, n, typeNames[ti]);
            for (int isa = S2S_ISA_AVX2; isa <= best; isa++) {
                s2s_set_isa(isa);
                int reps = (int)(4e8 / (2.0 * m * k * n)) + 2;
                double fastest = 1e9;
                for (int t = 0; t < 7; t++) {
                    double a = now();
                    for (int r = 0; r < reps; r++) s2s_product(types[ti], wp, (size_t)k, scales, m, k, x, (size_t)k, n, y, (size_t)m, 0);
                    double e = (now() - a) / reps;
                    if (e < fastest) fastest = e;
                }
                printf("  %s %8.1f us %6.1f GFLOP/s", isaNames[isa], fastest * 1e6, 2.0 * m * k * n / fastest * 1e-9);
            }
            printf("\n");
            fflush(stdout);
        }
        free(w); free(x); free(y); free(scales); free(h); free(q);
    }
    return 0;
}
