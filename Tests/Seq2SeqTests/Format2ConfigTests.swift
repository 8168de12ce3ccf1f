import Foundation
@testable import Seq2Seq
import Testing

/// Format 2's config keys (MODEL.md "Format version 2"): every bad value and every broken `requires` rule is a
/// load error that names the key; format-2 keys in a format-1 file are refused naming the key.
@Suite("Format 2 config errors")
struct Format2ConfigTests {
    /// A valid format-2 config (lstm, linear bridge, Luong attention, every optional key set) as a JSON object.
    static func base(_ change: (inout ModelConfig) -> Void = { _ in }) -> [String: Any] {
        var c = ModelConfig(cell: .lstm, sourceVocabSize: 12, targetVocabSize: 14, embeddingSize: 6, hiddenSize: 8,
                            encoderLayers: 2, decoderLayers: 2, bidirectionalEncoder: true, bridge: .linear,
                            attention: .luongGeneral, encoderHiddenSize: 4, bridgeInput: .layer,
                            bridgeActivation: .relu, bridgeCell: .linear, decoderInputFeed: .previousOutput,
                            combineActivation: .none, decoderEmbeddingActivation: .relu, outputProjectionSize: 5,
                            sourceAppendEOS: true, suppressIDs: [3, 4], detokenizeSkipIDs: [5],
                            decodingDefaults: .init(beamSize: 3, minLength: 1))
        change(&c)
        return try! JSONSerialization.jsonObject(with: Data(c.jsonText.utf8)) as! [String: Any]
    }

    static func text(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Expects `object` to be refused at parse time with a message that contains every one of `words`.
    static func expectRefused(_ object: [String: Any], _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let c = try ModelConfig.parse(json: text(object))
            Issue.record("accepted \(c); expected an error naming \(words)", sourceLocation: sourceLocation)
        } catch let e as Seq2SeqError {
            guard case .invalidModel = e else {
                Issue.record("not a model error: \(e)", sourceLocation: sourceLocation)
                return
            }
            for w in words {
                #expect(e.message.contains(w), "\"\(e.message)\" does not name \(w)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    static func with(_ object: [String: Any], _ changes: [String: Any?]) -> [String: Any] {
        var o = object
        for (k, v) in changes { o[k] = v }
        return o
    }

    @Test("The base config parses and round-trips through jsonText")
    func baseline() throws {
        let c = try ModelConfig.parse(json: Self.text(Self.base()))
        #expect(c.formatVersion == 2 && c.bridgeCell == .linear && c.suppressIDs == [3, 4])
        #expect(try ModelConfig.parse(json: c.jsonText) == c)
    }

    /// A JSON value from its text (test arguments must be Sendable, so values travel as JSON text).
    static func json(_ text: String) -> Any {
        try! JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    }

    static let format2Values: [(String, String)] = [
        ("encoder_hidden_size", "4"), ("bridge_input", "\"summary\""), ("bridge_activation", "\"tanh\""),
        ("bridge_cell", "\"zeros\""), ("decoder_input_feed", "\"context\""), ("combine_activation", "\"tanh\""),
        ("decoder_embedding_activation", "\"none\""), ("output_projection_size", "5"), ("source_append_eos", "false"),
        ("suppress_ids", "[3]"), ("detokenize_skip_ids", "[3]"), ("decoding_defaults", "{\"beam_size\": 2}"),
    ]

    @Test("A format-2 key in a format_version 1 file is refused naming the key", arguments: format2Values.map(\.0))
    func format2KeyInFormat1(_ key: String) {
        var o = Self.base { c in c = ModelConfig(cell: .gru, sourceVocabSize: 12, targetVocabSize: 14, embeddingSize: 6,
                                                 hiddenSize: 8, attentionSize: 5) }
        #expect(o["format_version"] as? Int == 1)
        o[key] = Self.json(Self.format2Values.first { $0.0 == key }!.1)
        Self.expectRefused(o, [key, "format"])
    }

    @Test("Format-2 values in a format_version 1 file are refused naming what needs format 2")
    func format2ValuesInFormat1() {
        let v1 = Self.base { c in c = ModelConfig(cell: .gru, sourceVocabSize: 12, targetVocabSize: 14, embeddingSize: 6,
                                                  hiddenSize: 8, bridge: .linearTanh, attentionSize: 5) }
        Self.expectRefused(Self.with(v1, ["bridge": "linear"]), ["bridge", "format_version"])
        Self.expectRefused(Self.with(v1, ["special_tokens": ["pad": 0, "bos": 1, "eos": 2]]), ["unk"])
        Self.expectRefused(Self.with(v1, ["special_tokens": ["bos": 1, "eos": 2, "unk": 3]]), ["pad"])
        Self.expectRefused(Self.with(v1, ["special_tokens": ["pad": 0, "bos": 2, "eos": 2, "unk": 3]]), ["bos", "format_version"])
        // copy from a bidirectional encoder is format 2 only
        Self.expectRefused(Self.with(v1, ["bridge": "copy", "bidirectional_encoder": true, "hidden_size": 8]),
                           ["copy", "bidirectional"])
    }

    @Test("Bad values of format-2 keys are refused naming the key", arguments: [
        ("encoder_hidden_size", "0"), ("encoder_hidden_size", "-3"), ("encoder_hidden_size", "\"4\""),
        ("encoder_hidden_size", "4.5"), ("bridge_input", "\"all\""), ("bridge_input", "1"),
        ("bridge_activation", "\"sigmoid\""), ("bridge_cell", "\"copy\""), ("decoder_input_feed", "\"attention\""),
        ("decoder_input_feed", "true"), ("combine_activation", "\"relu\""), ("combine_activation", "\"gelu\""),
        ("decoder_embedding_activation", "\"tanh\""), ("decoder_embedding_activation", "\"Relu\""),
        ("output_projection_size", "0"), ("output_projection_size", "\"5\""), ("source_append_eos", "\"yes\""),
        ("source_append_eos", "1"), ("suppress_ids", "3"), ("suppress_ids", "[1.5]"), ("suppress_ids", "[-1]"),
        ("suppress_ids", "[14]"), ("suppress_ids", "[3, 3]"), ("suppress_ids", "[\"3\"]"),
        ("detokenize_skip_ids", "[14]"), ("detokenize_skip_ids", "[-2]"), ("detokenize_skip_ids", "\"5\""),
        ("decoding_defaults", "3"), ("decoding_defaults", "{\"beam_size\": 0}"), ("decoding_defaults", "{\"beam_size\": 15}"),
        ("decoding_defaults", "{\"beam_size\": \"3\"}"), ("decoding_defaults", "{\"min_length\": -1}"),
        ("decoding_defaults", "{\"beam\": 3}"),
    ])
    func badValues(_ key: String, _ value: String) {
        Self.expectRefused(Self.with(Self.base(), [key: Self.json(value)]), [key])
    }

    @Test("special_tokens: bos and eos are required; ids must be inside the vocabularies")
    func specialTokens() {
        let o = Self.base()
        Self.expectRefused(Self.with(o, ["special_tokens": ["eos": 2]]), ["bos"])
        Self.expectRefused(Self.with(o, ["special_tokens": ["bos": 1]]), ["eos"])
        Self.expectRefused(Self.with(o, ["special_tokens": ["bos": 1, "eos": 14]]), ["eos"])
        Self.expectRefused(Self.with(o, ["special_tokens": ["bos": 1, "eos": 2, "unk": 12]]), ["unk"])  // Vs = 12
        Self.expectRefused(Self.with(o, ["special_tokens": ["bos": 1, "eos": 2, "pad": -1]]), ["pad"])
        Self.expectRefused(Self.with(o, ["special_tokens": ["bos": 1, "eos": 2, "cls": 5]]), ["cls"])
        // source_append_eos needs eos inside the source vocabulary (Vs 12 < Vt 14)
        Self.expectRefused(Self.with(o, ["special_tokens": ["bos": 1, "eos": 13]]), ["source_append_eos"])
        // bos = eos with pad and unk absent is fine in format 2
        #expect(throws: Never.self) { try ModelConfig.parse(json: Self.text(Self.with(o, ["special_tokens": ["bos": 2, "eos": 2]]))) }
    }

    @Test("Broken requires rules are refused naming the key")
    func requiresRules() {
        let o = Self.base()
        // bridge_cell applies to lstm only; bridge_input, bridge_activation, bridge_cell to the linear bridge only
        Self.expectRefused(Self.with(o, ["cell": "gru"]), ["bridge_cell"])
        Self.expectRefused(Self.with(o, ["cell": "rnn_tanh", "bridge_cell": "hidden"]), ["bridge_cell"])
        Self.expectRefused(Self.with(o, ["bridge": "linear_tanh"]), ["bridge_input"])
        Self.expectRefused(Self.with(o, ["bridge": "zeros", "bridge_input": "summary", "bridge_cell": "zeros"]), ["bridge_activation"])
        // bridge_input layer requires Le = Ld
        Self.expectRefused(Self.with(o, ["decoder_layers": 3]), ["bridge_input", "encoder_layers"])
        // decoder_input_feed by attention
        for (attention, feed) in [("luong_general", "context"), ("luong_dot", "summary"), ("luong_concat", "context"),
                                  ("bahdanau", "previous_output"), ("bahdanau", "none"), ("bahdanau", "summary"),
                                  ("none", "context")] {
            var changed = Self.with(o, ["attention": attention, "decoder_input_feed": feed, "combine_activation": nil,
                                        "encoder_hidden_size": nil, "bidirectional_encoder": false])
            if attention == "bahdanau" || attention == "luong_concat" { changed["attention_size"] = 4 }
            Self.expectRefused(changed, ["decoder_input_feed", attention])
        }
        // combine_activation applies to Luong attention only
        Self.expectRefused(Self.with(o, ["attention": "bahdanau", "attention_size": 4, "decoder_input_feed": "context"]),
                           ["combine_activation"])
        // copy requires Le = Ld and D = H (a bidirectional encoder with He = H/2)
        let copy = Self.with(o, ["bridge": "copy", "bridge_input": nil, "bridge_activation": nil, "bridge_cell": nil])
        #expect(throws: Never.self) { try ModelConfig.parse(json: Self.text(copy)) }
        Self.expectRefused(Self.with(copy, ["encoder_hidden_size": 5]), ["copy", "hidden_size"])
        Self.expectRefused(Self.with(copy, ["bidirectional_encoder": false]), ["copy", "hidden_size"])
        Self.expectRefused(Self.with(copy, ["decoder_layers": 1]), ["copy", "decoder_layers"])
        // luong_dot requires D = H
        Self.expectRefused(Self.with(o, ["attention": "luong_dot", "encoder_hidden_size": 8]), ["luong_dot"])
        // tie requires E = O with a projection (E = H is not enough), E = H without
        Self.expectRefused(Self.with(o, ["tie_target_embeddings": true]), ["tie_target_embeddings", "output_projection_size"])
        Self.expectRefused(Self.with(o, ["tie_target_embeddings": true, "embedding_size": 8]), ["tie_target_embeddings"])
        #expect(throws: Never.self) {
            try ModelConfig.parse(json: Self.text(Self.with(o, ["tie_target_embeddings": true, "embedding_size": 5])))
        }
        Self.expectRefused(Self.with(o, ["tie_target_embeddings": true, "output_projection_size": nil]),
                           ["tie_target_embeddings", "hidden_size"])
    }

    @Test("suppress_ids may not leave only eos, and a default beam may not exceed the ids left")
    func suppressLimits() {
        let o = Self.base()
        // Vt 14, eos 2: suppressing the 13 other ids leaves nothing but eos
        Self.expectRefused(Self.with(o, ["suppress_ids": (0..<14).filter { $0 != 2 }]), ["suppress_ids"])
        Self.expectRefused(Self.with(o, ["suppress_ids": Array(0..<14)]), ["suppress_ids"])
        // 12 suppressed + eos leave one id: beam 1 is the only beam
        let one = (0..<14).filter { $0 != 2 && $0 != 7 }
        #expect(throws: Never.self) {
            try ModelConfig.parse(json: Self.text(Self.with(o, ["suppress_ids": one, "decoding_defaults": ["beam_size": 1]])))
        }
        Self.expectRefused(Self.with(o, ["suppress_ids": one, "decoding_defaults": ["beam_size": 2]]),
                           ["decoding_defaults.beam_size"])
        // and a caller's beam beyond the choosable ids is an options error naming the beam size
        let config = try! ModelConfig.parse(json: Self.text(Self.with(o, ["suppress_ids": one, "decoding_defaults": nil])))
        #expect(throws: Seq2SeqError.self) { try DecodingOptions(beamSize: 2).validate(for: config) }
        #expect(throws: Never.self) { try DecodingOptions(beamSize: 1).validate(for: config) }
    }

    @Test("source_append_eos: the appended eos counts toward the source length limit")
    func sourceLimitCountsEOS() throws {
        let c = try ModelConfig.parse(json: Self.text(Self.base()))
        let dir = try makeRandomModel(c, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let limit = DecodingOptions.maxSourceLength
        #expect(throws: Never.self) { try model.validate(source: Array(repeating: 5, count: limit - 1)) }
        #expect(throws: Seq2SeqError.self) { try model.validate(source: Array(repeating: 5, count: limit)) }
        #expect(model.encoderInputs([[5, 6]]) == [[5, 6, c.specialTokens.eos]])
    }

    /// A model directory with random weights for `written`, whose config.json then says `claimed`.
    static func mismatched(written: ModelConfig, claimed: ModelConfig, _ words: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try makeRandomModel(written, seed: 7, omittedBiases: 0)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try claimed.jsonText.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        LoadErrorTests.expectLoadError(URL(fileURLWithPath: dir), words, sourceLocation: sourceLocation)
    }

    @Test("Tensors that do not fit the format-2 keys are named")
    func tensorShapes() throws {
        let c = try ModelConfig.parse(json: Self.text(Self.base()))
        func variant(_ change: (inout ModelConfig) -> Void) -> ModelConfig { var v = c; change(&v); return v }
        // The tensors of the base config load
        let dir = try makeRandomModel(c, seed: 7, omittedBiases: 0)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: Never.self) { try Seq2SeqModel(directory: dir) }
        try Self.mismatched(written: c, claimed: variant { $0.outputProjectionSize = 4 }, ["decoder.output_projection.weight"])
        try Self.mismatched(written: c, claimed: variant { $0.outputProjectionSize = nil }, ["decoder.output"])
        try Self.mismatched(written: variant { $0.outputProjectionSize = nil }, claimed: c, ["decoder.output"])
        try Self.mismatched(written: c, claimed: variant { $0.bridgeCell = .hidden }, ["bridge_cell.", "not used"])
        try Self.mismatched(written: variant { $0.bridgeCell = .zeros }, claimed: c, ["bridge_cell.0.weight", "missing"])
        try Self.mismatched(written: c, claimed: variant { $0.encoderHiddenSize = 3 }, ["encoder.rnn.weight_"])
        try Self.mismatched(written: c, claimed: variant { $0.bridgeInput = .stacked }, ["bridge.0.weight"])
        try Self.mismatched(written: c, claimed: variant { $0.decoderInputFeed = .embeddingOnly }, ["decoder.rnn.weight_ih_l0"])
    }
}
