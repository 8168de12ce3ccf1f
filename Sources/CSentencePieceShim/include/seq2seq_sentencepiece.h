// The extern "C" surface over libsentencepiece's C++ SentencePieceProcessor, for Swift (Seq2SeqText).
// No stable API: Sources/Seq2SeqText/SentencePieceTokenizer.swift is its only caller.
//
// Strings are UTF-8 bytes with explicit lengths (a piece or a text may hold U+0000). Every function catches
// C++ exceptions; none crosses this boundary. On failure a function returns NULL or a non-zero status and,
// when `error` is not NULL, stores a message in *error (malloc'd; free it with seq2seq_spm_free_string).
//
// Thread safety: after loading (and seq2seq_spm_restrict_vocabulary, if used), a model is only read, so
// encode and decode may run on any number of threads at once (SentencePieceProcessor's Encode and Decode are
// const and keep no state between calls).
#ifndef SEQ2SEQ_SENTENCEPIECE_H
#define SEQ2SEQ_SENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A loaded SentencePiece model (a SentencePieceProcessor).
typedef struct seq2seq_spm seq2seq_spm;

/// Pieces returned by seq2seq_spm_encode: the bytes of all pieces back to back, piece i being
/// bytes[ends[i-1] ..< ends[i]] (ends[-1] = 0), and its id in the SentencePiece model (the unknown id for a
/// piece the model does not hold).
typedef struct seq2seq_spm_pieces {
    char *bytes;
    size_t *ends;
    int32_t *ids;
    size_t count;
} seq2seq_spm_pieces;

/// Loads a model from the bytes of a `.model` file (a serialized ModelProto).
seq2seq_spm *seq2seq_spm_load(const void *bytes, size_t length, char **error);

/// Frees a model (NULL is allowed).
void seq2seq_spm_free(seq2seq_spm *model);

/// Frees an error message or a decoded text (NULL is allowed).
void seq2seq_spm_free_string(char *string);

/// Frees the arrays of `pieces` and zeroes it.
void seq2seq_spm_free_pieces(seq2seq_spm_pieces *pieces);

/// The number of pieces in the model's vocabulary.
int32_t seq2seq_spm_piece_count(const seq2seq_spm *model);

/// Restricts segmentation to the given pieces (SentencePieceProcessor::SetVocabulary, as JoeyNMT does with
/// its vocabulary). Call before sharing the model between threads. Returns 0 on success.
int seq2seq_spm_restrict_vocabulary(seq2seq_spm *model, const char *const *pieces, const size_t *lengths,
                                    size_t count, char **error);

/// Encodes `text` into pieces, deterministically (no sampling, the single best segmentation).
/// Returns 0 on success; then `out` holds the pieces (free them with seq2seq_spm_free_pieces).
int seq2seq_spm_encode(const seq2seq_spm *model, const char *text, size_t length, seq2seq_spm_pieces *out,
                       char **error);

/// Decodes pieces into text (SentencePieceProcessor::Decode over piece strings). Returns 0 on success; then
/// *text (malloc'd, NUL-terminated, free with seq2seq_spm_free_string) holds *text_length bytes.
int seq2seq_spm_decode(const seq2seq_spm *model, const char *const *pieces, const size_t *lengths, size_t count,
                       char **text, size_t *text_length, char **error);

/// Decodes SentencePiece ids into text (SentencePieceProcessor::Decode over ids); an id outside the model is
/// an error. Same ownership as seq2seq_spm_decode.
int seq2seq_spm_decode_ids(const seq2seq_spm *model, const int32_t *ids, size_t count, char **text,
                           size_t *text_length, char **error);

#ifdef __cplusplus
}
#endif

#endif
