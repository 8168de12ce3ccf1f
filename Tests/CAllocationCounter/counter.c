#include "allocation_counter.h"

#include <errno.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define S2S_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define S2S_SANITIZED 1
#endif

#if defined(S2S_SANITIZED)
int s2s_built_with_sanitizer(void) { return 1; }
#else
int s2s_built_with_sanitizer(void) { return 0; }
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(S2S_SANITIZED)

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);

// Per thread: whether it counts, and its count. Static TLS in the executable: reading it never allocates.
static __thread int counting;
static __thread long counted;

int s2s_allocation_counting_available(void) { return 1; }
void s2s_count_allocations(int on) { counting = on; }
long s2s_counted_allocations(void) { return counted; }

void *malloc(size_t size) {
    if (counting) counted++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (counting) counted++;
    return __libc_calloc(count, size);
}

void *realloc(void *p, size_t size) {
    if (counting) counted++;
    return __libc_realloc(p, size);
}

void free(void *p) { __libc_free(p); }

void *memalign(size_t alignment, size_t size) {
    if (counting) counted++;
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (counting) counted++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    if (counting) counted++;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

#else

int s2s_allocation_counting_available(void) { return 0; }
void s2s_count_allocations(int on) { (void)on; }
long s2s_counted_allocations(void) { return 0; }

#endif
