import CSentencePieceShim
import Seq2Seq

/// A SentencePiece model (a `.model` / `.spm` file), applied by libsentencepiece through the C++ shim.
///
/// Every call into the shim is in this file: pointers are scoped here, results are copied into Swift values,
/// and failures become thrown `Seq2SeqError`s. Encoding is deterministic: no sampling, the one best
/// segmentation (OpenNMT-py's `nbest` 1, `alpha` 0 at translation), exactly `SentencePieceProcessor::Encode`.
///
/// Immutable after `init` and safe to share between threads: the processor's `Encode` and `Decode` are
/// `const` and keep no state between calls, and the vocabulary restriction (which mutates it) happens in
/// `init`, before the value is published.
public final class SentencePieceTokenizer: @unchecked Sendable {
    /// The file name (or label) the model was loaded from, for messages.
    public let name: String
    private let handle: OpaquePointer

    /// Loads the model file at `path`.
    ///
    /// - Parameter restrictTo: when given, segmentation uses only these pieces (SentencePiece's
    ///   `SetVocabulary`, as JoeyNMT calls it with its vocabulary).
    /// - Throws: `invalidModel` naming the file when it cannot be read or is not a SentencePiece model.
    public convenience init(contentsOf path: String, restrictTo vocabulary: [String]? = nil) throws {
        let bytes = try readFile(path)
        try self.init(bytes: bytes, name: path, restrictTo: vocabulary)
    }

    /// Loads a model from the bytes of a `.model` file; `name` labels it in error messages.
    public init(bytes: [UInt8], name: String, restrictTo vocabulary: [String]? = nil) throws {
        self.name = name
        var error: UnsafeMutablePointer<CChar>?
        let loaded = bytes.withUnsafeBytes { seq2seq_spm_load($0.baseAddress, $0.count, &error) }
        guard let loaded else {
            throw Seq2SeqError.invalidModel("\(name) is not a SentencePiece model: \(Self.take(error) ?? "it could not be loaded")")
        }
        handle = loaded
        if let vocabulary {
            let status = withPieceArrays(vocabulary) { pointers, lengths in
                seq2seq_spm_restrict_vocabulary(loaded, pointers, lengths, vocabulary.count, &error)
            }
            if status != 0 {
                seq2seq_spm_free(loaded)
                throw Seq2SeqError.invalidModel("\(name): cannot restrict the SentencePiece model to the vocabulary: \(Self.take(error) ?? "unknown error")")
            }
        }
        if pieceCount < 1 {
            seq2seq_spm_free(loaded)
            throw Seq2SeqError.invalidModel("\(name) is a SentencePiece model without pieces")
        }
    }

    deinit { seq2seq_spm_free(handle) }

    /// The number of pieces in the model's own vocabulary.
    public var pieceCount: Int { Int(seq2seq_spm_piece_count(handle)) }

    /// The pieces of `text` and their ids in the SentencePiece model (Python's `encode(text, out_type=str)`
    /// and `encode(text)`).
    public func encode(_ text: String) throws -> (pieces: [String], ids: [Int]) {
        var out = seq2seq_spm_pieces()
        var error: UnsafeMutablePointer<CChar>?
        var text = text
        let status = text.withUTF8 { seq2seq_spm_encode(handle, $0.baseAddress, $0.count, &out, &error) }
        guard status == 0 else {
            throw Seq2SeqError.invalidInput("SentencePiece (\(name)) cannot encode the text: \(Self.take(error) ?? "unknown error")")
        }
        defer { seq2seq_spm_free_pieces(&out) }
        var pieces: [String] = []
        var ids: [Int] = []
        pieces.reserveCapacity(out.count)
        ids.reserveCapacity(out.count)
        var start = 0
        for i in 0..<out.count {
            let end = out.ends[i]
            let piece = UnsafeRawBufferPointer(start: out.bytes.map { UnsafeRawPointer($0) + start }, count: end - start)
            pieces.append(String(decoding: piece, as: UTF8.self))
            ids.append(Int(out.ids[i]))
            start = end
        }
        return (pieces, ids)
    }

    /// The pieces of `text` (Python's `encode(text, out_type=str)`).
    public func pieces(_ text: String) throws -> [String] { try encode(text).pieces }

    /// Text from pieces (Python's `decode(pieces)`, `DecodePieces`): a piece the model does not hold is
    /// written as it is, `<unk>` as the model's unknown surface (` ⁇ ` by default), control pieces as nothing.
    public func decode(pieces: [String]) throws -> String {
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = withPieceArrays(pieces) { pointers, lengths in
            seq2seq_spm_decode(handle, pointers, lengths, pieces.count, &text, &length, &error)
        }
        return try Self.result(status, text, length, error, what: "decode the pieces", name: name)
    }

    /// Text from SentencePiece ids (Python's `decode(ids)`); an id outside the model is an error.
    public func decode(ids: [Int]) throws -> String {
        let count = pieceCount
        if let bad = ids.first(where: { $0 < 0 || $0 >= count }) {
            throw Seq2SeqError.invalidInput("SentencePiece id \(bad) is outside the model (0..<\(count))")
        }
        let ids32 = ids.map { Int32($0) }
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = ids32.withUnsafeBufferPointer {
            seq2seq_spm_decode_ids(handle, $0.baseAddress, $0.count, &text, &length, &error)
        }
        return try Self.result(status, text, length, error, what: "decode the ids", name: name)
    }

    private static func result(_ status: Int32, _ text: UnsafeMutablePointer<CChar>?, _ length: Int,
                               _ error: UnsafeMutablePointer<CChar>?, what: String, name: String) throws -> String {
        guard status == 0, let text else {
            throw Seq2SeqError.invalidInput("SentencePiece (\(name)) cannot \(what): \(take(error) ?? "unknown error")")
        }
        defer { seq2seq_spm_free_string(text) }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    /// The message in `error` (then freed), or nil.
    private static func take(_ error: UnsafeMutablePointer<CChar>?) -> String? {
        guard let error else { return nil }
        defer { seq2seq_spm_free_string(error) }
        return String(cString: error)
    }
}

/// Calls `body` with C arrays of pointers to the UTF-8 bytes of `strings` and their lengths, valid during the
/// call only.
private func withPieceArrays<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?) -> R) -> R {
    // One buffer holding every string's bytes back to back, so that the pointers stay valid for the call.
    var bytes: [CChar] = []
    var lengths: [Int] = []
    lengths.reserveCapacity(strings.count)
    for s in strings {
        lengths.append(s.utf8.count)
        bytes.append(contentsOf: s.utf8.map { CChar(bitPattern: $0) })
    }
    if bytes.isEmpty { bytes.append(0) }
    return bytes.withUnsafeBufferPointer { buffer in
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(strings.count)
        var offset = 0
        for n in lengths {
            pointers.append(buffer.baseAddress! + offset)
            offset += n
        }
        return pointers.withUnsafeBufferPointer { p in
            lengths.withUnsafeBufferPointer { l in body(p.baseAddress, l.baseAddress) }
        }
    }
}
