import ArgumentParser
import Seq2Seq

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's configuration, tensors, parameter count and memory.")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let model = modelOptions.load()
        let c = model.config
        print("model        \(model.directory)")
        print("cell         \(c.cell.rawValue), \(c.encoderLayers) encoder layer(s)\(c.bidirectionalEncoder ? " (bidirectional)" : ""), \(c.decoderLayers) decoder layer(s)")
        print("sizes        E \(c.embeddingSize), H \(c.hiddenSize), D \(c.encoderOutputSize)\(c.attentionSize.map { ", A \($0)" } ?? "")")
        print("attention    \(c.attention.rawValue); bridge \(c.bridge.rawValue); tied target embeddings: \(c.tieTargetEmbeddings)")
        print("vocabularies source \(c.sourceVocabSize)\(model.sourceVocabulary == nil ? " (no file)" : ""), target \(c.targetVocabSize)\(model.targetVocabulary == nil ? " (no file)" : "")")
        let sides = ModelConfig.Side.allCases.map { side -> String in
            let t = c.tokenizer(for: side)
            return "\(side.rawValue) \(t.kind.rawValue)\(t.file.map { " (\($0))" } ?? "")"
        }
        print("tokenizers   \(sides.joined(separator: ", "))")
        let s = c.specialTokens
        func id(_ v: Int?) -> String { v.map(String.init) ?? "none" }
        print("special      pad \(id(s.pad)), bos \(s.bos), eos \(s.eos), unk \(id(s.unk))")
        if c.formatVersion == 2 {
            var parts = ["decoder_input_feed \(c.inputFeed.rawValue)"]
            if let he = c.encoderHiddenSize { parts.insert("encoder_hidden_size \(he)", at: 0) }
            if c.bridge == .linear {
                parts.append("bridge_input \(c.bridgeInput.rawValue), bridge_activation \(c.bridgeActivation.rawValue)"
                             + (c.cell == .lstm ? ", bridge_cell \(c.bridgeCell.rawValue)" : ""))
            }
            if c.attention.isLuong { parts.append("combine_activation \(c.combineActivation.rawValue)") }
            if c.decoderEmbeddingActivation != .none { parts.append("decoder_embedding_activation \(c.decoderEmbeddingActivation.rawValue)") }
            if let o = c.outputProjectionSize { parts.append("output_projection_size \(o)") }
            if c.sourceAppendEOS { parts.append("source_append_eos") }
            if !c.suppressIDs.isEmpty { parts.append("suppress_ids \(c.suppressIDs)") }
            if !c.detokenizeSkipIDs.isEmpty { parts.append("detokenize_skip_ids \(c.detokenizeSkipIDs)") }
            if let k = c.decodingDefaults.beamSize { parts.append("default beam size \(k)") }
            if let m = c.decodingDefaults.minLength { parts.append("default min length \(m)") }
            print("format 2     " + parts.joined(separator: "; "))
        }
        if let q = c.quantization {
            let rest = q.otherFamilies == .float32 ? "" : "; other families \(q.otherFamilies.rawValue)"
            print("quantization \(q.type.rawValue): \(q.families.map(\.rawValue).sorted().joined(separator: ", "))\(rest) (stored; running as \(model.computePrecision))")
        }
        print("")
        let tensors = model.tensors.values.sorted { $0.name < $1.name }
        // A stored quantized model's reduced weights: name, dtype, shape.
        func dtype(_ name: String) -> String {
            ["int8": "I8", "float16": "F16", "bfloat16": "BF16"][model.storedType(of: name)?.rawValue ?? ""] ?? ""
        }
        var stored: [(name: String, shape: [Int])] = c.tensorSpecs.filter { !$0.optional && model.tensor($0.name) == nil }.map { ($0.name, $0.shape) }
        if c.tieTargetEmbeddings, let q = c.quantization, q.storedType(of: .output) != .float32 {
            stored.append(("decoder.output.weight", [c.targetVocabSize, c.embeddingSize]))
        }
        let rows = tensors.map { ($0.name, $0.storedAs.rawValue, $0.shape) } + stored.map { ($0.name, dtype($0.name), $0.shape) }
        let width = rows.map(\.0.count).max() ?? 10
        for (name, type, shapeValues) in rows.sorted(by: { $0.0 < $1.0 }) {
            let shape = "(" + shapeValues.map(String.init).joined(separator: ", ") + ")"
            print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(type.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shape.padding(toLength: 14, withPad: " ", startingAt: 0))  \(shapeValues.reduce(1, *))")
        }
        let params = tensors.reduce(0) { $0 + $1.count } + stored.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let absent = c.tensorSpecs.filter { $0.optional && model.tensor($0.name) == nil }.map(\.name)
        print("")
        print("parameters   \(params) in \(rows.count) tensors\(absent.isEmpty ? "" : "; absent biases (zeros): \(absent.joined(separator: ", "))")")
        print("memory       \(model.weightBytes) bytes of weights as loaded, \(model.mappedInPlaceBytes) of them read in place from the mapped file")
        print("BLAS         \(BLASThreads.configuration), \(BLASThreads.count) thread(s)")
    }
}
