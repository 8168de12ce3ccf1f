import Foundation
import Seq2Seq
import Seq2SeqText

/// A toolkit's model in MODEL.md's terms, ready to be written as a model directory: the configuration, every
/// tensor by MODEL.md's name, and the vocabularies (line `i` is id `i`).
public struct ConvertedModel: Sendable {
    /// The toolkit it came from (`opennmt-py`, `joeynmt`, `fairseq`, `pytorch-tutorial`).
    public var toolkit: String
    /// The checkpoint (or model directory) it was read from.
    public var origin: String
    public var config: ModelConfig
    /// Tensors by MODEL.md name, in a stable order.
    public var tensors: [(name: String, tensor: DenseTensor)]
    public var sourceVocabulary: [String]
    public var targetVocabulary: [String]
    /// Notes for the user: what was mapped how, and the toolkit behaviours that differ (printed by the CLI).
    public var notes: [String]
    /// The subword models the toolkit applies around the model, copied into the directory when written.
    public var subwordFiles: [SubwordFile] = []

    /// A converted model from its parts.
    public init(toolkit: String, origin: String, config: ModelConfig, tensors: [(name: String, tensor: DenseTensor)],
                sourceVocabulary: [String], targetVocabulary: [String], notes: [String], subwordFiles: [SubwordFile] = []) {
        self.toolkit = toolkit
        self.origin = origin
        self.config = config
        self.tensors = tensors
        self.sourceVocabulary = sourceVocabulary
        self.targetVocabulary = targetVocabulary
        self.notes = notes
        self.subwordFiles = subwordFiles
    }

    /// A human-readable account of what was found: toolkit, cell, layers, sizes, attention, bridge,
    /// vocabularies, parameters, then the notes.
    public var summary: String {
        let c = config
        var lines = ["toolkit: \(toolkit) (\(origin))"]
        let dirs = c.bidirectionalEncoder ? "bidirectional" : "unidirectional"
        lines.append("cell: \(c.cell.rawValue); encoder: \(c.encoderLayers) layer(s), \(dirs), hidden \(c.encoderHidden) per direction; decoder: \(c.decoderLayers) layer(s), hidden \(c.hiddenSize)")
        lines.append("embeddings: \(c.embeddingSize); attention: \(c.attention.rawValue)\(c.attentionSize.map { " (size \($0))" } ?? ""); input feed: \(c.inputFeed.rawValue)\(c.attention.isLuong ? "; combine activation: \(c.combineActivation.rawValue)" : "")")
        var bridge = c.bridge.rawValue
        if c.bridge == .linear {
            bridge += " (input \(c.bridgeInput.rawValue), activation \(c.bridgeActivation.rawValue)\(c.cell == .lstm ? ", cell \(c.bridgeCell.rawValue)" : ""))"
        }
        lines.append("bridge: \(bridge)\(c.outputProjectionSize.map { "; output projection \($0)" } ?? "")\(c.tieTargetEmbeddings ? "; output tied to the target embeddings" : "")")
        let s = c.specialTokens
        func name(_ id: Int?) -> String { id.map { "\($0) \(targetVocabulary.indices.contains($0) ? targetVocabulary[$0] : "?")" } ?? "none" }
        lines.append("vocabularies: source \(c.sourceVocabSize), target \(c.targetVocabSize); bos \(name(s.bos)), eos \(name(s.eos)), pad \(name(s.pad)), unk \(name(s.unk))")
        var decoding: [String] = []
        if c.sourceAppendEOS { decoding.append("eos appended to sources") }
        if !c.suppressIDs.isEmpty { decoding.append("never emits \(c.suppressIDs.map { name($0) }.joined(separator: ", "))") }
        if let k = c.decodingDefaults.beamSize { decoding.append("default beam size \(k)") }
        if let m = c.decodingDefaults.minLength { decoding.append("default min length \(m)") }
        if !decoding.isEmpty { lines.append("decoding: " + decoding.joined(separator: "; ")) }
        for f in subwordFiles {
            lines.append("\(f.side.rawValue) text: \(f.tokenizer.kind.rawValue) from \(f.path)")
        }
        lines.append("parameters: \(c.parameterCount.formatted())")
        return (lines + notes.map { "note: \($0)" }).joined(separator: "\n")
    }

    /// Writes `config.json`, `model.safetensors` (F32), `source.vocab` and `target.vocab` into `directory`
    /// (created if missing), then loads the directory back with `Seq2SeqModel` to prove it valid.
    ///
    /// - Throws: `invalidModel` when a vocabulary token cannot be written as a line (it holds a line break), a
    ///   file cannot be written, or the written directory does not load.
    @discardableResult
    public func write(to directory: String) throws -> Seq2SeqModel {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw Seq2SeqError.invalidModel("cannot create \(directory): \(error.localizedDescription)")
        }
        func write(_ data: Data, _ name: String) throws {
            do { try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name)) } catch {
                throw Seq2SeqError.invalidModel("cannot write \(directory)/\(name): \(error.localizedDescription)")
            }
        }
        for (side, vocab) in [("source", sourceVocabulary), ("target", targetVocabulary)] {
            if let bad = vocab.firstIndex(where: { $0.contains(where: \.isNewline) || $0.unicodeScalars.contains { $0 == "\r" } }) {
                throw Seq2SeqError.invalidModel("\(side) vocabulary token \(bad) holds a line break and cannot be written one token a line")
            }
            try write(Data(vocab.map { $0 + "\n" }.joined().utf8), "\(side).vocab")
        }
        var config = config
        for f in subwordFiles {
            let t = try ModelText.installSubwordFile(from: f.path, side: f.side, tokenizer: f.tokenizer, into: directory)
            if f.side == .source { config.sourceTokenizer = t } else { config.targetTokenizer = t }
            config.formatVersion = 2
        }
        try config.validate()
        try write(Data(config.jsonText.utf8), "config.json")
        try write(SafeTensorsWriter.data(tensors, metadata: ["converted_from": toolkit]), "model.safetensors")
        return try Seq2SeqModel(directory: directory)
    }
}

/// Writes safetensors files: an 8-byte little-endian header length, the JSON header padded with spaces to a
/// multiple of 8, then the tensors' little-endian F32 data back to back (each tensor 4-byte aligned).
enum SafeTensorsWriter {
    static func data(_ tensors: [(name: String, tensor: DenseTensor)], metadata: [String: String]) -> Data {
        func quoted(_ s: String) -> String { JSONValue.literal(s) }
        var entries: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(quoted($0)):\(quoted(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for (name, t) in tensors {
            let end = offset + 4 * t.values.count
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(quoted(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var data = Data()
        data.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for (_, t) in tensors {
            t.values.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                #if _endian(little)
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(base).assumingMemoryBound(to: UInt8.self),
                                                count: 4 * buffer.count))
                #else
                for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                #endif
            }
        }
        return data
    }
}
