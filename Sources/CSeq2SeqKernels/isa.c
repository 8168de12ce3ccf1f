// The instruction set the kernels run with: chosen once from CPUID (AVX-512 F/BW/DQ/VL, with or without VNNI,
// on top of AVX2 + FMA + F16C, or AVX2 + FMA + F16C alone, with the OS saving the registers' state), or forced
// to a narrower one by SEQ2SEQ_FORCE_ISA=avx512|avx2|scalar or s2s_set_isa. Every choice gives the same bits.

#include "seq2seq_kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static int cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 12)) || !(c & (1u << 27)) || !(c & (1u << 28)) || !(c & (1u << 29))) return 0;  // FMA OSXSAVE AVX F16C
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;  // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0;  // AVX2
}

static int cpu_has_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;  // the OS saves XMM, YMM, opmask and both halves of ZMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);  // F DQ CD BW VL
    return (b & need) == need;
}
static int cpu_has_avx512_vnni(void) {
    unsigned a, b, c, d;
    if (!cpu_has_avx512() || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c & (1u << 11)) != 0;  // AVX512_VNNI
}
#else
static int cpu_has_avx2(void) { return 0; }
static int cpu_has_avx512(void) { return 0; }
static int cpu_has_avx512_vnni(void) { return 0; }
#endif

int s2s_cpu_has_avx512(void) { return cpu_has_avx512(); }

static int supported = -1;  // written once, before any kernel runs (benign race: same value)
static int chosen = -1;

int s2s_isa_supported(void) {
    if (__atomic_load_n(&supported, __ATOMIC_ACQUIRE) < 0)
        __atomic_store_n(&supported,
                         !cpu_has_avx2()         ? S2S_ISA_SCALAR
                         : cpu_has_avx512_vnni() ? S2S_ISA_AVX512_VNNI
                         : cpu_has_avx512()      ? S2S_ISA_AVX512
                                                 : S2S_ISA_AVX2,
                         __ATOMIC_RELEASE);
    return __atomic_load_n(&supported, __ATOMIC_ACQUIRE);
}

int s2s_isa(void) {
    int c = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (c >= 0) return c;
    const char *force = getenv("SEQ2SEQ_FORCE_ISA");
    c = s2s_isa_supported();
    if (force && strcmp(force, "scalar") == 0) c = S2S_ISA_SCALAR;
    else if (force && strcmp(force, "avx2") == 0 && c > S2S_ISA_AVX2) c = S2S_ISA_AVX2;
    else if (force && strcmp(force, "avx512") == 0 && c > S2S_ISA_AVX512) c = S2S_ISA_AVX512;
    __atomic_store_n(&chosen, c, __ATOMIC_RELEASE);
    return c;
}

int s2s_set_isa(int isa) {
    int best = s2s_isa_supported();
    int c = isa >= S2S_ISA_AVX2 && isa <= best ? isa : S2S_ISA_SCALAR;
    __atomic_store_n(&chosen, c, __ATOMIC_RELEASE);
    return c;
}

