import Foundation
import Seq2Seq
import Seq2SeqServer
import Testing

/// `seq2seq-server --model [NAME=]DIR|@embedded`: how arguments name and locate models.
@Suite("Model specs")
struct ModelSpecTests {
    @Test("Names: given, from the directory's last component, 'dates' for the embedded model; '=' after a '/' is the path's")
    func names() throws {
        #expect(try ModelSpec(parsing: "b1=/models/b1") == ModelSpec(name: "b1", source: .directory("/models/b1")))
        #expect(try ModelSpec(parsing: "/models/enfr/") == ModelSpec(name: "enfr", source: .directory("/models/enfr/")))
        #expect(try ModelSpec(parsing: "runs/lr=0.1") == ModelSpec(name: "lr=0.1", source: .directory("runs/lr=0.1")))
        #expect(try ModelSpec(parsing: "@embedded") == ModelSpec(name: "dates", source: .embedded))
        #expect(try ModelSpec(parsing: "iso=@embedded") == ModelSpec(name: "iso", source: .embedded))
        #expect(try ModelSpec(parsing: "./@embedded") == ModelSpec(name: "@embedded", source: .directory("./@embedded")))
    }

    @Test("No argument serves the embedded model alone; several keep their order, the first the default")
    func lists() throws {
        #expect(try ModelSpec.parse([]) == [ModelSpec(name: "dates", source: .embedded)])
        let specs = try ModelSpec.parse(["enfr=/m/enfr", "dates=@embedded"])
        #expect(specs.map(\.name) == ["enfr", "dates"])
        #expect(specs.last?.source == .embedded)
    }

    @Test("Refused with a message naming the argument: no directory, an empty name, two models of one name")
    func refusals() {
        for (arguments, fragment) in [(["b1="], "--model b1=: no directory"), (["=/m/b1"], "an empty model name"),
                                      (["/a/b1", "/c/b1"], "two models are named b1"),
                                      (["@embedded", "dates=/m/d"], "two models are named dates")] {
            #expect {
                try ModelSpec.parse(arguments)
            } throws: { error in
                "\(error)".contains(fragment)
            }
        }
    }

    @Test("@embedded loads the date model, beside a directory's model under another name")
    func loads() throws {
        let dir = try #require(Seq2SeqModel.embeddedDateModelDirectory)
        let specs = try ModelSpec.parse(["copy=\(dir)", "dates=@embedded"])
        let models = try specs.map { try $0.load() }
        #expect(models.map(\.parameterCount) == [372_080, 372_080])
        let int8 = try specs[1].load(computeType: .int8)
        #expect(int8.parameterCount == 372_080)
    }
}
