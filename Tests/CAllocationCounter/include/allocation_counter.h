// Test support only (linked into Seq2SeqTests, never into the library): counts heap allocations made by the
// calling thread, by interposing malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign in the test
// executable (each forwards to glibc's __libc_* entry point). Linux/glibc only, and not under AddressSanitizer or
// ThreadSanitizer, which interpose the same functions: there `s2s_allocation_counting_available()` is 0.
#ifndef SEQ2SEQ_ALLOCATION_COUNTER_H
#define SEQ2SEQ_ALLOCATION_COUNTER_H

/// 1 when the interposer is compiled in (glibc, no sanitizer), else 0 (and the counts stay 0).
int s2s_allocation_counting_available(void);
/// 1 when this target was compiled with AddressSanitizer, ThreadSanitizer or MemorySanitizer (slow tests skip).
int s2s_built_with_sanitizer(void);
/// Starts (1) or stops (0) counting the calling thread's allocations.
void s2s_count_allocations(int on);
/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign calls) counted on the calling
/// thread since it first counted.
long s2s_counted_allocations(void);

#endif
