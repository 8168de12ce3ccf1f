import Foundation
import Seq2Seq

/// A repeatable random generator (SplitMix64): the same seed gives the same stream on every platform,
/// so a failing combination can be replayed from the seed its message names.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in `[-scale, scale)`.
    mutating func uniform(_ scale: Float) -> Float {
        Float.random(in: -scale..<scale, using: &self)
    }
}

/// Writes a model directory with random weights for `config` into a new temporary directory and returns
/// its path: `config.json`, `model.safetensors` (F32, every tensor of `config.tensorSpecs`), and with
/// `vocabularies` also `source.vocab` and `target.vocab` (tokens `s0`, `s1`, … and `t0`, `t1`, …).
///
/// Each tensor is uniform in `±scale` with its own `scale` drawn from `[0.5, 1.5]`. Embeddings, biases and the
/// weights that make scores (`decoder.output`, `decoder.attention.energy`) keep that scale, so that output and
/// attention softmaxes are far from flat. The weights that feed the recurrence (cells, bridge, attention key,
/// query and combine) are further divided by `√fan_in`, as PyTorch's default initialization does: with
/// `±scale` alone a tanh RNN of `H = 33` has a gain near `scale·√(H/3) ≈ 3`, is chaotic, and float rounding
/// grows by orders of magnitude over twenty steps, which no Float32-vs-Double comparison survives.
///
/// A fraction `omittedBiases` of the optional biases is left out of the file (meaning zeros), to exercise that
/// path too.
///
/// - Throws: when the config breaks MODEL.md's rules (`config.validate()`) or a file cannot be written.
func makeRandomModel(_ config: ModelConfig, seed: UInt64, vocabularies: Bool = false,
                     omittedBiases: Double = 0.25) throws -> String {
    try config.validate()
    var rng = SeededRandom(seed: seed)
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("seq2seq-random-\(seed)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

    var tensors: [(name: String, shape: [Int], values: [Float])] = []
    for spec in config.tensorSpecs {
        if spec.optional && Double.random(in: 0..<1, using: &rng) < omittedBiases { continue }
        var scale = Float.random(in: 0.5...1.5, using: &rng)
        if feedsRecurrence(spec) { scale /= Float(spec.shape[1]).squareRoot() }
        let count = spec.shape.reduce(1, *)
        tensors.append((spec.name, spec.shape, (0..<count).map { _ in rng.uniform(scale) }))
    }
    try safetensorsBytes(tensors).write(to: dir.appendingPathComponent("model.safetensors"))
    try configJSON(config).write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    if vocabularies {
        let source = (0..<config.sourceVocabSize).map { "s\($0)\n" }.joined()
        let target = (0..<config.targetVocabSize).map { "t\($0)\n" }.joined()
        try source.write(to: dir.appendingPathComponent("source.vocab"), atomically: true, encoding: .utf8)
        try target.write(to: dir.appendingPathComponent("target.vocab"), atomically: true, encoding: .utf8)
    }
    return dir.path
}

/// Whether `spec` is a matrix whose product feeds back into the recurrent state (see `makeRandomModel`).
private func feedsRecurrence(_ spec: TensorSpec) -> Bool {
    guard spec.shape.count == 2, !spec.name.hasSuffix("embedding.weight") else { return false }
    return !(spec.name.hasPrefix("decoder.output.") || spec.name.hasPrefix("decoder.attention.energy."))
}

/// `config.json` text for `c` (MODEL.md "Model directory"): format 1 unless `c` uses a format-2 key.
func configJSON(_ c: ModelConfig) -> String { c.jsonText }

/// A safetensors file: an 8-byte little-endian header length, the JSON header (padded with spaces to a
/// multiple of 8), then the tensors' little-endian F32 data back to back in the given order.
func safetensorsBytes(_ tensors: [(name: String, shape: [Int], values: [Float])]) -> Data {
    var entries: [String] = []
    var offset = 0
    for t in tensors {
        precondition(t.values.count == t.shape.reduce(1, *), "tensor \(t.name): values do not match shape \(t.shape)")
        let end = offset + 4 * t.values.count
        let shape = t.shape.map(String.init).joined(separator: ",")
        entries.append("\"\(t.name)\":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
        offset = end
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
    var data = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    data.reserveCapacity(data.count + offset)
    for t in tensors {
        for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    }
    return data
}
