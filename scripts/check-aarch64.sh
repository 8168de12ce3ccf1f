#!/usr/bin/env bash
# The C kernels compile for aarch64 (their scalar path), without an aarch64 sysroot: clang cross-compiles
# Sources/CSeq2SeqKernels to an object file against clang's own freestanding headers (stddef.h, stdint.h) and
# stub prototypes for the few libc/libm/pthread functions the kernels call. Warnings are errors. Takes a second.
# Also checks that Swift sources name no x86-only module or intrinsic outside an `#if arch(...)`.
# Usage: scripts/check-aarch64.sh [CLANG]
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${1:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT
cat > "$stubs/math.h" <<'H'
float fmaf(float, float, float); float fabsf(float); float nearbyintf(float);
float expf(float); float logf(float); float tanhf(float);
#define NAN (__builtin_nanf(""))
#define INFINITY (__builtin_inff())
#define isfinite(x) __builtin_isfinite(x)
H
cat > "$stubs/stdlib.h" <<'H'
#include <stddef.h>
char *getenv(const char *); void *malloc(size_t); void free(void *);
H
cat > "$stubs/string.h" <<'H'
#include <stddef.h>
void *memcpy(void *, const void *, size_t); int strcmp(const char *, const char *); void *memset(void *, int, size_t);
H
cat > "$stubs/pthread.h" <<'H'
typedef unsigned int pthread_key_t; typedef int pthread_once_t;
#define PTHREAD_ONCE_INIT 0
int pthread_once(pthread_once_t *, void (*)(void)); int pthread_key_create(pthread_key_t *, void (*)(void *));
void *pthread_getspecific(pthread_key_t); int pthread_setspecific(pthread_key_t, const void *);
H
for f in Sources/CSeq2SeqKernels/*.c; do
  "$CLANG" --target=aarch64-linux-gnu -ffreestanding -nostdlibinc -isystem "$stubs" -D_GNU_SOURCE \
    -ISources/CSeq2SeqKernels/include -O2 -Wall -Wextra -Werror -c "$f" -o "$stubs/$(basename "$f").o"
done
echo "aarch64: $(ls Sources/CSeq2SeqKernels/*.c | wc -l) C file(s) of CSeq2SeqKernels compile (clang --target=aarch64-linux-gnu)"
# Swift: nothing x86-specific in the Swift targets (the kernels' ISA choice lives in C).
if grep -rnE 'import (_Builtin_intrinsics|x86intrin)|_mm(256|512)?_' Sources --include='*.swift'; then
  echo "x86 intrinsics in Swift sources (not allowed; see above)" >&2
  exit 1
fi
