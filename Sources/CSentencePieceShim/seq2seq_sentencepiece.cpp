// The extern "C" surface over libsentencepiece (see include/seq2seq_sentencepiece.h).
#include "seq2seq_sentencepiece.h"

#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

struct seq2seq_spm {
    sentencepiece::SentencePieceProcessor processor;
};

namespace {

/// A malloc'd copy of `s` (NUL-terminated), or NULL when memory runs out.
char *copy_string(std::string_view s) {
    char *out = static_cast<char *>(std::malloc(s.size() + 1));
    if (out == nullptr) return nullptr;
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
    return out;
}

void set_error(char **error, std::string_view message) {
    if (error != nullptr) *error = copy_string(message);
}

/// Runs `body`, turning a C++ exception into an error message and status 1.
template <typename Body>
int guarded(char **error, Body body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        set_error(error, "out of memory");
    } catch (const std::exception &e) {
        set_error(error, e.what());
    } catch (...) {
        set_error(error, "unknown C++ exception");
    }
    return 1;
}

std::vector<std::string_view> views(const char *const *pieces, const size_t *lengths, size_t count) {
    std::vector<std::string_view> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) out.emplace_back(pieces[i], lengths[i]);
    return out;
}

int return_text(const std::string &decoded, char **text, size_t *text_length, char **error) {
    char *copy = copy_string(decoded);
    if (copy == nullptr) {
        set_error(error, "out of memory");
        return 1;
    }
    *text = copy;
    *text_length = decoded.size();
    return 0;
}

}  // namespace

extern "C" {

seq2seq_spm *seq2seq_spm_load(const void *bytes, size_t length, char **error) {
    seq2seq_spm *model = nullptr;
    int status = guarded(error, [&]() -> int {
        auto *m = new seq2seq_spm();
        std::string_view serialized(static_cast<const char *>(bytes), length);
        const auto s = m->processor.LoadFromSerializedProto(serialized);
        if (!s.ok()) {
            set_error(error, s.ToString());
            delete m;
            return 1;
        }
        model = m;
        return 0;
    });
    return status == 0 ? model : nullptr;
}

void seq2seq_spm_free(seq2seq_spm *model) { delete model; }

void seq2seq_spm_free_string(char *string) { std::free(string); }

void seq2seq_spm_free_pieces(seq2seq_spm_pieces *pieces) {
    if (pieces == nullptr) return;
    std::free(pieces->bytes);
    std::free(pieces->ends);
    std::free(pieces->ids);
    *pieces = seq2seq_spm_pieces{nullptr, nullptr, nullptr, 0};
}

int32_t seq2seq_spm_piece_count(const seq2seq_spm *model) { return model->processor.GetPieceSize(); }

int seq2seq_spm_restrict_vocabulary(seq2seq_spm *model, const char *const *pieces, const size_t *lengths,
                                    size_t count, char **error) {
    return guarded(error, [&]() -> int {
        const auto s = model->processor.SetVocabulary(views(pieces, lengths, count));
        if (!s.ok()) {
            set_error(error, s.ToString());
            return 1;
        }
        return 0;
    });
}

int seq2seq_spm_encode(const seq2seq_spm *model, const char *text, size_t length, seq2seq_spm_pieces *out,
                       char **error) {
    *out = seq2seq_spm_pieces{nullptr, nullptr, nullptr, 0};
    return guarded(error, [&]() -> int {
        // Pieces and ids from one segmentation (the proto form of Encode): the ids are the model's own, also
        // for unknown pieces, whose piece string is their surface text.
        sentencepiece::ImmutableSentencePieceText spt;
        const auto s = model->processor.Encode(std::string_view(text, length), spt.mutable_proto());
        if (!s.ok()) {
            set_error(error, s.ToString());
            return 1;
        }
        const size_t count = spt.pieces_size();
        size_t total = 0;
        for (size_t i = 0; i < count; ++i) total += spt.pieces(static_cast<int>(i)).piece().size();
        // At least one byte each, so that an empty result still gets non-NULL arrays from malloc.
        auto *bytes = static_cast<char *>(std::malloc(total + 1));
        auto *ends = static_cast<size_t *>(std::malloc(sizeof(size_t) * (count + 1)));
        auto *ids = static_cast<int32_t *>(std::malloc(sizeof(int32_t) * (count + 1)));
        if (bytes == nullptr || ends == nullptr || ids == nullptr) {
            std::free(bytes);
            std::free(ends);
            std::free(ids);
            set_error(error, "out of memory");
            return 1;
        }
        size_t offset = 0;
        for (size_t i = 0; i < count; ++i) {
            const auto sp = spt.pieces(static_cast<int>(i));
            const std::string &p = sp.piece();
            if (!p.empty()) std::memcpy(bytes + offset, p.data(), p.size());
            offset += p.size();
            ends[i] = offset;
            ids[i] = static_cast<int32_t>(sp.id());
        }
        *out = seq2seq_spm_pieces{bytes, ends, ids, count};
        return 0;
    });
}

int seq2seq_spm_decode(const seq2seq_spm *model, const char *const *pieces, const size_t *lengths, size_t count,
                       char **text, size_t *text_length, char **error) {
    return guarded(error, [&]() -> int {
        std::string decoded;
        const auto s = model->processor.Decode(views(pieces, lengths, count), &decoded);
        if (!s.ok()) {
            set_error(error, s.ToString());
            return 1;
        }
        return return_text(decoded, text, text_length, error);
    });
}

int seq2seq_spm_decode_ids(const seq2seq_spm *model, const int32_t *ids, size_t count, char **text,
                           size_t *text_length, char **error) {
    return guarded(error, [&]() -> int {
        std::vector<int> v(ids, ids + count);
        std::string decoded;
        const auto s = model->processor.Decode(v, &decoded);
        if (!s.ok()) {
            set_error(error, s.ToString());
            return 1;
        }
        return return_text(decoded, text, text_length, error);
    });
}

}  // extern "C"
