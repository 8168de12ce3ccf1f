// libsentencepiece's C++ processor header (Debian's libsentencepiece-dev, 0.1.97). Only the C++ shim target
// CSentencePieceShim includes it; Swift never imports this module (it reaches SentencePiece through the shim's
// extern "C" surface, Sources/CSentencePieceShim/include/seq2seq_sentencepiece.h).
#ifndef CSYSTEMSENTENCEPIECE_SHIM_H
#define CSYSTEMSENTENCEPIECE_SHIM_H
#include <sentencepiece_processor.h>
#endif
