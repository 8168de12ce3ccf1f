import Foundation
@testable import Seq2Seq
import Testing

/// The quality gates of docs/MODEL.md, "Compute types": on the golden cases' random models, greedy output in each
/// reduced compute type is identical to float32's on at least 99% of sentences, family by family and all together
/// (int8: at least 95%, and only at near-ties of float32's output, see docs/MODEL.md).
/// The table it prints is the one the documentation quotes (`swift test --filter QuantizationQuality`).
@Suite("Compute type quality")
struct QuantizationQualityTests {
    /// The source-id lines of every golden case's inputs that the model accepts, per model directory.
    static func cases() throws -> [(String, [[Int]])] {
        let root = Fixtures.ownDirectory
        var out: [(String, [[Int]])] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
            let dir = root.appendingPathComponent(name)
            let inputs = dir.appendingPathComponent("inputs.jsonl")
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model/config.json").path),
                  let text = try? String(contentsOf: inputs, encoding: .utf8) else { continue }
            var sources: [[Int]] = []
            for line in text.split(separator: "\n") {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let ids = obj["source_ids"] as? [Int], !ids.isEmpty else { continue }
                sources.append(ids)
            }
            if !sources.isEmpty { out.append((dir.appendingPathComponent("model").path, sources)) }
        }
        return out
    }

    @Test("Greedy output equals float32's on ≥ 99% of the golden models' sentences, per type and family",
          arguments: [ComputeType.float16, .bfloat16, .int8])
    func goldenAgreement(_ type: ComputeType) throws {
        let cases = try Self.cases()
        try #require(cases.count >= 20, "golden cases not found")
        let groups: [(String, Set<WeightFamily>)] = WeightFamily.allCases.map { ($0.rawValue, [$0]) } + [("all", Set(WeightFamily.allCases))]
        var lines: [String] = []
        for (label, families) in groups {
            var total = QualityComparison(), deltaSum = 0.0, margins: [Double] = []
            for (dir, sources) in cases {
                guard let reference = try? Seq2SeqModel(directory: dir) else { continue }  // the load-error cases
                let candidate = try Seq2SeqModel(directory: dir, computeType: type, families: families)
                var usable: [[Int]] = []
                for s in sources where (try? Translator(model: reference).translate([s])) != nil { usable.append(s) }
                let q = try QualityComparison.compare(reference: reference, candidate: candidate, sources: usable)
                total.sentences += q.sentences
                total.identical += q.identical
                total.tokens += q.tokens
                deltaSum += q.meanAbsDeltaLogProb * Double(q.tokens)
                total.maxAbsDeltaLogProb = max(total.maxAbsDeltaLogProb, q.maxAbsDeltaLogProb)
                margins += q.flipMargins
            }
            let mean = total.tokens == 0 ? 0 : deltaSum / Double(total.tokens)
            lines.append("\(type.rawValue) \(label): identical \(total.identical)/\(total.sentences), mean |Δ log-prob| \(mean), max \(total.maxAbsDeltaLogProb), float32 margins at the flips \(margins.sorted())")
            if type == .int8 {
                // int8 misses the strict 99% on these random models (docs/MODEL.md, "Compute types"): every sentence
                // that differs does so at a near-tie of float32's own output, which is what this checks.
                #expect(total.agreement >= 0.95, "\(type) \(label): greedy output identical on only \(total.identical)/\(total.sentences)")
                #expect(margins.allSatisfy { $0 < 0.05 }, "\(type) \(label): a flip where float32's margin was \(margins.max() ?? 0) nats")
            } else {
                #expect(total.agreement >= 0.99, "\(type) \(label): greedy output identical on only \(total.identical)/\(total.sentences)")
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
