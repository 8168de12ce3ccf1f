import Foundation
import Seq2Seq
import Seq2SeqText
import Testing

/// Golden cases from the reference implementations (PyPI `sentencepiece` 0.1.99 and `subword-nmt` 0.3.8),
/// made by tools/make_subword_golden.py into Tests/Fixtures/subword: pieces, ids and detokenized text of a
/// corpus with accents, combining marks, CJK, emoji, digits, punctuation and odd spacing, plain and as
/// OpenNMT-py, JoeyNMT and fairseq apply the tokenizers around their translate commands.
@Suite("Subword golden cases")
struct SubwordGoldenTests {
    static let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/subword")

    struct Case {
        let line: Int
        let object: JSONValue
        var text: String { object["text"]!.string! }
        func strings(_ key: String) throws -> [String] {
            let strings = object[key]?.array?.compactMap { $0.string }
            return try #require(strings, "line \(line): \(key) missing")
        }
        func string(_ key: String) throws -> String {
            try #require(object[key]?.string, "line \(line): \(key) missing")
        }
    }

    static func cases(_ name: String, minimum: Int = 20) throws -> [Case] {
        let lines = try Fixtures.jsonLines(directory.appendingPathComponent(name))
        try #require(lines.count >= minimum, "\(name) has \(lines.count) cases")
        return lines.enumerated().map { Case(line: $0.offset + 1, object: $0.element) }
    }

    static func vocabulary(_ name: String) throws -> Vocabulary {
        try Vocabulary(contentsOf: directory.appendingPathComponent(name).path)
    }

    /// The fixtures' vocabularies start with OpenNMT-py's specials: `<unk>`, `<blank>`, `<s>`, `</s>`.
    static let specials = ModelConfig.SpecialTokens(pad: 1, bos: 2, eos: 3, unk: 0)

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @Test("SentencePiece pieces, ids and decoded text equal the Python package's", arguments: ["spm_unigram", "spm_bpe"])
    func sentencePiecePlain(_ name: String) throws {
        let sp = try SentencePieceTokenizer(contentsOf: Self.path(name + ".model"))
        var unknown = 0
        for c in try Self.cases(name + ".jsonl") {
            let (pieces, ids) = try sp.encode(c.text)
            #expect(pieces == (try c.strings("pieces")), "\(name) line \(c.line) \(c.text.debugDescription): pieces")
            #expect(ids == c.object["ids"]?.ints, "\(name) line \(c.line) \(c.text.debugDescription): ids")
            #expect(try sp.decode(pieces: c.strings("pieces")) == c.string("decode_pieces"), "\(name) line \(c.line): decode(pieces)")
            #expect(try sp.decode(ids: #require(c.object["ids"]?.ints)) == c.string("decode_ids"), "\(name) line \(c.line): decode(ids)")
            unknown += ids.filter { $0 == 0 }.count
        }
        if name == "spm_unigram" { #expect(unknown > 0, "the corpus should hold characters the model does not know") }
    }

    @Test("SentencePiece as OpenNMT-py, JoeyNMT and fairseq apply it: pieces and output text",
          arguments: ["spm_unigram", "spm_bpe"])
    func sentencePieceToolkits(_ name: String) throws {
        let vocab = try Self.vocabulary(name + ".vocab.txt")
        let model = name + ".model"
        let styles: [(String, ModelConfig.TokenizerConfig)] = [
            ("onmt", .openNMTSentencePiece(model: model)),
            ("joey", .joeyNMTSentencePiece(model: model)),
            ("fairseq", .fairseqSentencePiece(model: model)),
        ]
        for (toolkit, config) in styles {
            let t = try ModelTokenizer(config: config, side: .target, directory: Self.directory.path,
                                       vocabulary: vocab, specialTokens: Self.specials)
            for c in try Self.cases(name + ".jsonl") {
                let expected = try c.strings(toolkit + "_pieces")
                #expect(try t.tokens(for: c.text) == expected, "\(name) \(toolkit) line \(c.line) \(c.text.debugDescription): pieces")
                #expect(try t.text(forTokens: expected) == c.string(toolkit + "_text"), "\(name) \(toolkit) line \(c.line): text")
                // Through the vocabulary: ids of known pieces give the pieces back.
                let ids = try t.ids(for: c.text)
                #expect(ids.count == expected.count)
                for (id, piece) in zip(ids, expected) where id != 0 {
                    #expect(vocab.token(for: id) == piece)
                }
            }
        }
    }

    @Test("BPE process_line equals subword-nmt's for 0.2 and 0.1 codes, with glossaries and a merge limit",
          arguments: ["v02", "v01"])
    func bpePlain(_ version: String) throws {
        let codes = Self.path("bpe_\(version).codes")
        let all = try BPETokenizer(contentsOf: codes)
        #expect(all.version == (version == "v02" ? [0, 2] : [0, 1]))
        for c in try Self.cases("bpe_\(version).jsonl") {
            #expect(all.processLine(c.text) == (try c.string("process_line")), "\(version) line \(c.line) \(c.text.debugDescription)")
        }
        let glossaries = try BPETokenizer(contentsOf: codes, glossaries: ["USA", "2026"])
        for c in try Self.cases("bpe_\(version)_glossaries.jsonl") {
            #expect(glossaries.processLine(c.text) == (try c.string("process_line")), "\(version) glossaries line \(c.line)")
        }
        let limited = try BPETokenizer(contentsOf: codes, merges: 40)
        #expect(limited.mergeCount <= 40)
        for c in try Self.cases("bpe_\(version)_merges40.jsonl") {
            #expect(limited.processLine(c.text) == (try c.string("process_line")), "\(version) merges 40 line \(c.line)")
        }
    }

    @Test("BPE with repeated and coinciding merges and CRLF lines, with and without a vocabulary filter")
    func bpeOdd() throws {
        let codes = Self.path("bpe_odd.codes")
        let vocab = try Self.vocabulary("bpe_odd.vocab.txt").tokens
        let plain = try BPETokenizer(contentsOf: codes)
        let filtered = try BPETokenizer(contentsOf: codes, vocabulary: vocab)
        for c in try Self.cases("bpe_odd.jsonl", minimum: 3) {
            #expect(plain.processLine(c.text) == (try c.string("process_line")), "line \(c.line) \(c.text.debugDescription)")
            #expect(filtered.processLine(c.text) == (try c.string("filtered")), "line \(c.line) \(c.text.debugDescription): filtered")
        }
    }

    @Test("BPE as OpenNMT-py, JoeyNMT (vocabulary filter) and fairseq apply it: pieces and output text",
          arguments: ["v02", "v01"])
    func bpeToolkits(_ version: String) throws {
        let vocab = try Self.vocabulary("bpe_\(version).vocab.txt")
        let codes = "bpe_\(version).codes"
        let styles: [(String, ModelConfig.TokenizerConfig)] = [
            ("onmt", .openNMTBPE(codes: codes)),
            ("joey", .joeyNMTBPE(codes: codes)),
            ("fairseq", .fairseqBPE(codes: codes)),
        ]
        for (toolkit, config) in styles {
            let t = try ModelTokenizer(config: config, side: .target, directory: Self.directory.path,
                                       vocabulary: vocab, specialTokens: Self.specials)
            for c in try Self.cases("bpe_\(version).jsonl") {
                let expected = try c.strings(toolkit + "_pieces")
                #expect(try t.tokens(for: c.text) == expected, "\(version) \(toolkit) line \(c.line) \(c.text.debugDescription): pieces")
                #expect(try t.text(forTokens: expected) == c.string(toolkit + "_text"), "\(version) \(toolkit) line \(c.line): text")
            }
        }
    }
}
