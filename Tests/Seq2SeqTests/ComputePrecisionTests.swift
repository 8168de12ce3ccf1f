import Foundation
@testable import Seq2Seq
import Testing

/// `ComputePrecision` (`--compute-type int8_float16`): its spellings, the compute type each family gets, and the
/// refusals (docs/MODEL.md, "Compute types").
@Suite("Compute precisions (int8_float16)")
struct ComputePrecisionTests {
    @Test("Spellings: one type or a reduced type and another float type; the description parses back")
    func spellings() {
        for text in ["float32", "float16", "bfloat16", "int8", "int8_float16", "int8_bfloat16", "float16_bfloat16"] {
            let p = ComputePrecision(text)
            #expect(p?.description == text, "\(text)")
        }
        #expect(ComputePrecision("int8_float32") == ComputePrecision(.int8))
        #expect(ComputePrecision("int8_float16") == ComputePrecision(.int8, otherFamilies: .float16))
        for text in ["", "int4", "int8_", "_float16", "int8_int8", "float16_int8", "float32_float16", "int8_float16_bfloat16", "float16_float16", "INT8"] {
            #expect(ComputePrecision(text) == nil, "\(text)")
        }
    }

    @Test("int8_float16: int8 for int8's families, float16 for every other; computePrecision says so")
    func familyTypes() throws {
        let dir = try makeRandomModel(StoredQuantizationTests.randomConfig(tied: false), seed: 31)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try Seq2SeqModel(directory: dir, computeType: .int8, otherFamilies: .float16)
        #expect(m.computeTypes == [.output: .int8, .bridge: .int8, .attention: .float16, .recurrent: .float16, .encoder: .float16])
        #expect(m.computePrecision == ComputePrecision(.int8, otherFamilies: .float16))
        #expect(try Seq2SeqModel(directory: dir, computeType: .int8).computePrecision == ComputePrecision(.int8))
        #expect(try Seq2SeqModel(directory: dir).computePrecision == ComputePrecision(.float32))
        let some = try Seq2SeqModel(directory: dir, computeType: .int8, families: [.attention], otherFamilies: .bfloat16)
        #expect(some.computeTypes[.attention] == .int8 && some.computeTypes[.output] == .bfloat16)
    }

    @Test("A model's parameter count does not depend on its compute type (the server's /v1/models reports it)")
    func parameterCount() throws {
        #expect(try Seq2SeqModel.embeddedDateModel().parameterCount == 372_080)  // the README's figure
        for type in ["int8", "float16", "int8_float16"] {
            let p = try #require(ComputePrecision(type))
            #expect(try Seq2SeqModel.embeddedDateModel(computeType: p.type, otherFamilies: p.otherFamilies).parameterCount == 372_080, "\(type)")
        }
    }

    @Test("The other families run exactly as that type's own families do: bit for bit")
    func otherFamiliesAreTheSameProducts() throws {
        let dir = try makeRandomModel(StoredQuantizationTests.randomConfig(tied: false), seed: 32)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = DecodingOptions(beamSize: 3, nBest: 2, returnAttention: true)
        let viaOther = try Seq2SeqModel(directory: dir, computeType: .int8, families: [], otherFamilies: .float16)
        let float16 = try Seq2SeqModel(directory: dir, computeType: .float16, families: Set(WeightFamily.allCases))
        #expect(Set(viaOther.computeTypes.values) == [.float16])
        #expect(try StoredQuantizationTests.bits(viaOther, options) == StoredQuantizationTests.bits(float16, options))
        let mixed = try Seq2SeqModel(directory: dir, computeType: .int8, otherFamilies: .float16)
        let int8 = try Seq2SeqModel(directory: dir, computeType: .int8)
        #expect(try StoredQuantizationTests.bits(mixed, options) != StoredQuantizationTests.bits(int8, options))
    }

    @Test("Refused: int8 or float32 as the other type, the same type twice, leaving a stored family to be rounded again")
    func refusals() throws {
        let dir = try makeRandomModel(StoredQuantizationTests.randomConfig(), seed: 33)
        let out = StoredQuantizationTests.temporary("precision")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: out) }
        for (type, other) in [(ComputeType.float16, ComputeType.int8), (.float32, .float16), (.float16, .float16)] {
            let e = #expect(throws: Seq2SeqError.self) { try Seq2SeqModel(directory: dir, computeType: type, otherFamilies: other) }
            #expect("\(e!)".contains("otherFamilies \(other.rawValue) with compute type \(type.rawValue)"), "\(e!)")
        }
        try Seq2SeqModel(directory: dir).writeQuantized(to: out, type: .int8, families: [.output, .recurrent])
        // The stored int8 families stay int8; the float-stored ones become float16 at load.
        let stored = try Seq2SeqModel(directory: out, otherFamilies: .float16)
        #expect(stored.computeTypes == [.output: .int8, .recurrent: .int8, .attention: .float16, .encoder: .float16, .bridge: .float16])
        let e = #expect(throws: Seq2SeqError.self) {
            try Seq2SeqModel(directory: out, computeType: .int8, families: [.output], otherFamilies: .float16)
        }
        #expect("\(e!)".contains("stores its recurrent weights as int8; running them as float16 would round them a second time"), "\(e!)")
    }
}
