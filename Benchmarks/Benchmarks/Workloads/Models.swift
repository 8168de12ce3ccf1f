import Foundation
import Seq2Seq

/// The benchmark models of ../shared/peers (MODEL.md configurations B1 and B2) with seeded random weights,
/// written once into `.build-bench/models-swift/` (or `$SEQ2SEQ_BENCH_MODELS`, which may also hold models
/// made by `torch_peer.py make`).
enum BenchModels {
    static let b1 = ModelConfig(cell: .gru, sourceVocabSize: 8000, targetVocabSize: 8000, embeddingSize: 256, hiddenSize: 256,
                                bridge: .copy, attention: .bahdanau, attentionSize: 256)
    static let b2 = ModelConfig(cell: .lstm, sourceVocabSize: 32000, targetVocabSize: 32000, embeddingSize: 512, hiddenSize: 512,
                                encoderLayers: 2, decoderLayers: 2, bidirectionalEncoder: true, bridge: .linearTanh,
                                attention: .luongGeneral)

    static var directory: String {
        if let env = ProcessInfo.processInfo.environment["SEQ2SEQ_BENCH_MODELS"] { return env }
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return here.appendingPathComponent(".build-bench/models-swift").path
    }

    /// Loads (writing first if needed) the model `name` ("b1" or "b2") in `computeType`.
    static func load(_ name: String, computeType: ComputeType = .float32) throws -> Seq2SeqModel {
        let dir = directory + "/" + name
        if !FileManager.default.fileExists(atPath: dir + "/model.safetensors") {
            try write(name == "b1" ? b1 : b2, to: dir, seed: name == "b1" ? 1 : 2)
        }
        return try Seq2SeqModel(directory: dir, computeType: computeType)
    }

    /// Writes a model directory with weights uniform in ±1/√fan_in (embeddings and output ±0.5 … ±1.5).
    static func write(_ config: ModelConfig, to dir: String, seed: UInt64) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        var header: [String] = []
        var data = Data()
        for spec in config.tensorSpecs {
            let count = spec.shape.reduce(1, *)
            let recurrent = spec.shape.count == 2 && !spec.name.hasSuffix("embedding.weight") && !spec.name.hasPrefix("decoder.output.")
            let scale: Float = recurrent ? 1 / Float(spec.shape[1]).squareRoot() : 1
            var values = [Float](repeating: 0, count: count)
            for i in 0..<count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                values[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
            let begin = data.count
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            header.append("\"\(spec.name)\": {\"dtype\": \"F32\", \"shape\": [\(spec.shape.map(String.init).joined(separator: ", "))], \"data_offsets\": [\(begin), \(data.count)]}")
        }
        var json = Array(("{" + header.joined(separator: ", ") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: json)
        file.append(data)
        try file.write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        let c = config
        let configText = """
            {"format": "seq2seq-rnn", "format_version": 1, "cell": "\(c.cell.rawValue)", "source_vocab_size": \(c.sourceVocabSize),
             "target_vocab_size": \(c.targetVocabSize), "embedding_size": \(c.embeddingSize), "hidden_size": \(c.hiddenSize),
             "encoder_layers": \(c.encoderLayers), "decoder_layers": \(c.decoderLayers), "bidirectional_encoder": \(c.bidirectionalEncoder),
             "bridge": "\(c.bridge.rawValue)", "attention": "\(c.attention.rawValue)", \(c.attentionSize.map { "\"attention_size\": \($0)," } ?? "")
             "tie_target_embeddings": false, "tokenizer": "whitespace", "special_tokens": {"pad": 0, "bos": 1, "eos": 2, "unk": 3}}
            """
        try configText.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
    }

    /// `n` sources of `length` random ids (never special tokens).
    static func sources(_ n: Int, length: Int, vocabulary: Int) -> [[Int]] {
        var state: UInt64 = 12345
        return (0..<n).map { _ in
            (0..<length).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return 4 + Int((state >> 33) % UInt64(vocabulary - 4))
            }
        }
    }
}
