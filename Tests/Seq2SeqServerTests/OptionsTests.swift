import Foundation
import Seq2Seq
@testable import Seq2SeqServer
import Seq2SeqText
import Testing

/// `/v1/translate` with the CLI's decoding options: each request's results are the bits
/// `Translator(batchInvariant: true)` gives its sentences (positions in the request seeding sampling).
/// Part of the serialized server suite: its blocking clients must not run beside another suite's.
extension ServerTests {
    static let texts = ["24/11/2026", "nov 24 2026", "1 Jan 1999"]

    /// Options as JSON members, and as the library's options with the target prefix text.
    static let optionCases: [(json: String, options: DecodingOptions, prefix: String?)] = [
        ("\"sampling_topk\": 0, \"seed\": 5, \"n_best\": 3", DecodingOptions(nBest: 3, samplingTopK: 0, seed: 5), nil),
        ("\"sampling_topk\": 4, \"sampling_topp\": 0.9, \"sampling_temperature\": 0.6, \"seed\": 11",
         DecodingOptions(samplingTopK: 4, samplingTopP: 0.9, samplingTemperature: 0.6, seed: 11), nil),
        ("\"beam_size\": 3, \"target_prefix\": \"19\"", DecodingOptions(beamSize: 3), "19"),
        ("\"beam_size\": 2, \"no_repeat_ngram_size\": 2, \"repetition_penalty\": 1.3, \"disable_unk\": true",
         DecodingOptions(beamSize: 2, noRepeatNgramSize: 2, repetitionPenalty: 1.3, disableUnk: true), nil),
        ("\"beam_size\": 1, \"suppress_ids\": [5], \"suppress_sequences\": [[6, 7]], \"min_length\": 3",
         DecodingOptions(beamSize: 1, minLength: 3, suppressIDs: [5], suppressSequences: [[6, 7]]), nil),
        ("\"beam_size\": 4, \"n_best\": 2, \"length_penalty_kind\": \"wu\", \"length_penalty\": 0.6, \"max_length_a\": 0.5, \"max_length_b\": 4",
         DecodingOptions(beamSize: 4, nBest: 2, lengthPenalty: 0.6, lengthPenaltyKind: .wu, maxLengthA: 0.5, maxLengthB: 4), nil),
        ("\"beam_size\": 2, \"max_input_length\": 4, \"length_penalty_kind\": \"none\"",
         DecodingOptions(beamSize: 2, lengthPenaltyKind: LengthPenaltyKind.none, maxInputLength: 4), nil),
    ]

    static func expected(_ c: (json: String, options: DecodingOptions, prefix: String?), model: Seq2SeqModel, text: ModelText) throws -> JSONValue {
        let prefix = try c.prefix.map { try text.targetIDs(for: $0) } ?? []
        let inputs = try texts.enumerated().map { i, t in TranslationInput(source: try text.sourceIDs(for: t), targetPrefix: prefix, index: i) }
        var options = c.options
        options.returnAttention = true
        let out = try Translator(model: model, batchInvariant: true).translate(inputs: inputs, options: options)
        let results = out.map { JSON.translation($0, nBest: options.nBest, text: text, attention: true, scores: true) }
        return try JSONValue.parse(JSON.array(results))
    }

    static func optionsBody(_ c: String) -> String {
        "{\"text\": [" + texts.map { JSON.string($0) }.joined(separator: ",") + "], \"attention\": true, \"return_scores\": true, \(c)}"
    }

    @Test("Every option of the CLI's JSONL, alone and with requests in flight, gives Translator's bits")
    func decodingOptions() async throws {
        let server = try await TestServer.start()
        let (model, text) = TestServer.dates
        let port = server.port
        let expected = try Self.optionCases.map { try Self.expected($0, model: model, text: text) }
        for (k, c) in Self.optionCases.enumerated() {
            let r = try await server.request("POST", "/v1/translate", Self.optionsBody(c.json))
            #expect(r.status == 200, "\(c.json): \(r.status) \(r.body)")
            #expect(r.json?["results"] == expected[k], "\(c.json): \(r.body.prefix(300))")
        }
        #expect(try await server.request("POST", "/v1/translate", Self.optionsBody(Self.optionCases[6].json)).body.contains("\"warnings\""))
        // All cases at once, several times each: the session mixes them in the same steps.
        let all = await concurrently(Load.count(3, sanitized: 1) * Self.optionCases.count) { i in
            try HTTPResult.send(port: port, method: "POST", path: "/v1/translate", body: Array(Self.optionsBody(Self.optionCases[i % Self.optionCases.count].json).utf8))
        }
        for (i, r) in all.enumerated() {
            guard case .success(let x) = r else { Issue.record("request \(i): \(r)"); continue }
            #expect(x.json?["results"] == expected[i % Self.optionCases.count], "concurrent \(Self.optionCases[i % Self.optionCases.count].json)")
        }
        try await server.stop()
    }

    @Test("Bad options: 400 or 422 naming the option")
    func optionRefusals() async throws {
        let server = try await TestServer.start { $0.maxBatchRows = 8 }
        func check(_ members: String, _ status: Int, _ word: String) async throws {
            let r = try await server.request("POST", "/v1/translate", "{\"text\": [\"1.1.01\", \"2.2.02\"], \(members)}")
            #expect(r.status == status && r.body.contains(word), "\(members): \(r.status) \(r.body)")
        }
        try await check("\"sampling_topk\": 0, \"sampling_topp\": 2", 400, "sampling_topp")
        try await check("\"sampling_temperature\": \"hot\"", 400, "sampling_temperature")
        try await check("\"seed\": -1", 400, "seed")
        try await check("\"sampling_topk\": 0, \"n_best\": 9", 422, "n_best")
        try await check("\"beam_size\": 1, \"suppress_ids\": [99999]", 400, "suppress_ids")
        try await check("\"beam_size\": 1, \"suppress_sequences\": [[]]", 400, "suppress_sequences")
        try await check("\"length_penalty_kind\": \"long\"", 400, "length_penalty_kind")
        try await check("\"max_length_b\": 100000", 422, "max_length_b")
        try await check("\"max_length_a\": 1000", 422, "max_length_a")
        try await check("\"max_input_length\": 0", 400, "max_input_length")
        try await check("\"target_prefix\": [\"1\", \"2\", \"3\"]", 400, "target_prefix")
        try await check("\"target_prefix\": {\"a\": 1}", 400, "target_prefix")
        try await check("\"beam_size\": 1, \"target_prefix\": [[999]]", 400, "target_prefix")
        try await check("\"return_scores\": 1", 400, "return_scores")
        try await server.stop()
    }

    @Test("--compute-type: a model loaded in int8_float16 serves what Translator gives on it, and /v1/models says so")
    func computeType() async throws {
        let model = try Seq2SeqModel.embeddedDateModel(computeType: .int8, otherFamilies: .float16)
        let text = try ModelText(model: model)
        let server = try await TestServer.start({ _ in }, model: (model, text))
        let c = Self.optionCases[2]
        let r = try await server.request("POST", "/v1/translate", Self.optionsBody(c.json))
        #expect(r.json?["results"] == (try Self.expected(c, model: model, text: text)), "\(r.body.prefix(300))")
        #expect(try await server.request("GET", "/v1/models").body.contains("\"compute_type\": \"int8_float16\""))
        try await server.stop()
    }
}
