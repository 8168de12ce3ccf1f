import Foundation
import Seq2Seq
import Testing

/// The embedded date normalizer: it ships with the package and works.
@Suite("Embedded date model")
struct DemoTests {
    static func model() throws -> Seq2SeqModel { try Seq2SeqModel.embeddedDateModel() }

    @Test("Dates in many formats become ISO 8601")
    func examples() throws {
        let translator = Translator(model: try Self.model())
        for (input, want) in [("Tuesday, 24 November 2026", "2026-11-24"), ("24/11/2026", "2026-11-24"),
                              ("nov 24 2026", "2026-11-24"), ("the 24th of November, 2026", "2026-11-24"),
                              ("1st of january 1999", "1999-01-01")] {
            let t = try translator.translate(input, options: DecodingOptions(beamSize: 5))
            #expect(translator.model.detokenize(t.best.ids) == want, "\(input)")
        }
    }

    @Test("At least 99% of the 2,000 held-out dates are exactly right")
    func heldOutAccuracy() throws {
        let model = try Self.model()
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("data/dates-heldout.tsv"), encoding: .utf8)
        let pairs = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(pairs.count == 2000)
        let out = try Translator(model: model).translate(pairs.map { try model.sourceIDs(for: $0[0]) })
        let correct = zip(pairs, out).filter { model.detokenize($1.best.ids) == $0[1] }.count
        #expect(Double(correct) >= 0.99 * Double(pairs.count), "\(correct) of \(pairs.count) correct")
    }

    @Test("The attention map draws as terminal shades and as SVG with labelled axes")
    func attentionPictures() throws {
        let model = try Self.model()
        let src = try model.sourceIDs(for: "24/11/2026")
        let t = try Translator(model: model).translate([src], options: DecodingOptions(returnAttention: true))[0]
        let map = try #require(AttentionMap(model: model, source: src, hypothesis: t.best))
        #expect(map.sourceLabels.joined() == "24/11/2026")
        #expect(map.targetLabels.last == "</s>" && map.targetLabels.count == t.best.ids.count + 1)
        let text = map.terminal()
        #expect(text.split(separator: "\n").count == map.targetLabels.count + 2)
        #expect(text.contains("█") || text.contains("▓"))
        let svg = map.svg(title: "24/11/2026")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<rect ").count - 2 == map.sourceLabels.count * map.targetLabels.count)
        #expect(svg.contains(">2</text>") && svg.contains("&lt;/s&gt;"))
    }
}
