// The C boundary of Seq2Seq: OpenBLAS's CBLAS interface, nothing else.
// Swift code reaches it only through Sources/Seq2Seq/BLAS/BLAS.swift.
#ifndef CSYSTEMBLAS_SHIM_H
#define CSYSTEMBLAS_SHIM_H
#include <cblas.h>
#endif
