import Foundation
@testable import Seq2Seq
@testable import Seq2SeqConvert
import Testing

/// Checkpoints written by `torch.save` (tools/make_pickle_fixtures.py, PyTorch 2.2.2) read back element by
/// element against the values the script wrote beside them.
@Suite("Torch checkpoints")
struct CheckpointFixtureTests {
    static func expected(_ name: String) throws -> JSONValue {
        try Fixtures.json(PickleTests.fixtures.appendingPathComponent("\(name).json"))
    }

    static func load(_ name: String) throws -> TorchCheckpoint {
        try TorchCheckpoint(path: PickleTests.fixtures.appendingPathComponent("\(name).pt").path)
    }

    /// Compares a value with its description (see the script's docstring), recording each difference with its path.
    /// `groups` maps the script's storage groups to the storages found, so that sharing must match both ways.
    static func compare(_ v: PickleValue, _ e: JSONValue, _ path: String, _ groups: inout [Int: TorchStorage],
                        sourceLocation: SourceLocation = #_sourceLocation) {
        guard let tag = e.array?.first?.string else { Issue.record("\(path): bad expectation \(e)"); return }
        let arg = e.array!.count > 1 ? e.array![1] : .null
        func fail(_ m: String) { Issue.record("\(path): \(m)", sourceLocation: sourceLocation) }
        func each(_ xs: [PickleValue], _ ys: [JSONValue]?, _ what: String) {
            guard let ys, xs.count == ys.count else { return fail("\(what) of \(xs.count) items, expected \(ys?.count ?? -1)") }
            for (i, (x, y)) in zip(xs, ys).enumerated() { compare(x, y, "\(path)[\(i)]", &groups, sourceLocation: sourceLocation) }
        }
        switch (tag, v) {
        case ("none", .none): break
        case ("bool", .bool(let b)): if b != arg.bool { fail("\(b), expected \(arg)") }
        case ("int", .int(let i)): if String(i) != arg.string { fail("\(i), expected \(arg)") }
        case ("float", .float(let d)):
            if String(d.bitPattern, radix: 16).leftPadded(16) != arg.string { fail("\(d) (bits \(String(d.bitPattern, radix: 16))), expected bits \(arg)") }
        case ("str", .string(let s)): if s != arg.string { fail("\"\(s)\", expected \(arg)") }
        case ("bytes", .bytes(let b)): if b.map({ String(format: "%02x", $0) }).joined() != arg.string { fail("bytes \(b), expected \(arg)") }
        case ("global", .global(let name)): if name != arg.string { fail("global \(name), expected \(arg)") }
        case ("list", .list(let xs)): each(xs, arg.array, "list")
        case ("tuple", .tuple(let xs)): each(xs, arg.array, "tuple")
        case ("set", .set(let xs)): each(xs, arg.array, "set")
        case ("dict", .dict(let items)):
            guard let pairs = arg.array, pairs.count == items.count else { return fail("dict of \(items.count) pairs, expected \(arg.array?.count ?? -1)") }
            for (i, (item, pair)) in zip(items, pairs).enumerated() {
                compare(item.key, pair.array![0], "\(path){key \(i)}", &groups, sourceLocation: sourceLocation)
                compare(item.value, pair.array![1], "\(path).\(item.key.string ?? "#\(i)")", &groups, sourceLocation: sourceLocation)
            }
        case ("object", .object(let className, let args, let state)):
            let a = e.array!
            if className != a[1].string { fail("object \(className), expected \(a[1])") }
            each(args, a[2].array, "arguments")
            switch (state, a[3]) {
            case (nil, .null): break
            case (let s?, let es) where es != .null: compare(s, es, "\(path).state", &groups, sourceLocation: sourceLocation)
            default: fail("state \(String(describing: state)), expected \(a[3])")
            }
        case ("tensor", .tensor(let t)):
            compareTensor(t, arg, path, &groups, sourceLocation: sourceLocation)
        default:
            fail("\(v.kindName), expected \(tag)")
        }
    }

    static func compareTensor(_ t: TorchTensor, _ e: JSONValue, _ path: String, _ groups: inout [Int: TorchStorage],
                              sourceLocation: SourceLocation) {
        func fail(_ m: String) { Issue.record("\(path): \(m)", sourceLocation: sourceLocation) }
        guard t.dtype.rawValue == e["dtype"]?.string, t.shape == e["shape"]?.ints, t.strides == e["stride"]?.ints,
              t.storageOffset == e["offset"]?.int, t.storage.count == e["storage_count"]?.int else {
            return fail("tensor \(t.dtype) \(t.shape) stride \(t.strides) offset \(t.storageOffset) of \(t.storage.count), expected \(e)")
        }
        let group = e["storage_group"]!.int!
        if let s = groups[group] {
            if s !== t.storage { fail("storage \"\(t.storage.key)\" should be the one of group \(group), \"\(s.key)\"") }
        } else {
            if groups.values.contains(where: { $0 === t.storage }) { fail("storage \"\(t.storage.key)\" is shared with another group") }
            groups[group] = t.storage
        }
        do {
            if let bits = e["bits"]?.ints {
                let got = try t.floats().map { Int($0.bitPattern) }
                guard got.count == bits.count else { return fail("\(got.count) elements, expected \(bits.count)") }
                if let i = got.indices.first(where: { got[$0] != bits[$0] }) {
                    fail("element \(i) has bits \(String(got[i], radix: 16)), expected \(String(bits[i], radix: 16))")
                }
                if t.dtype == .float32, t.isContiguous, let direct = t.float32Buffer {
                    #expect(direct.map { Int($0.bitPattern) } == bits, sourceLocation: sourceLocation)
                }
                #expect(throws: Seq2SeqError.self, sourceLocation: sourceLocation) { try t.ints() }
            } else {
                let ints = e["ints"]!.array!.map { Int($0.string!)! }
                #expect(try t.ints() == ints, "\(path)", sourceLocation: sourceLocation)
                #expect(throws: Seq2SeqError.self, sourceLocation: sourceLocation) { try t.floats() }
            }
        } catch {
            fail("\(error)")
        }
    }

    @Test("Each checkpoint reads back as torch.save wrote it, element by element", arguments: [
        "state_dict", "checkpoint_p2", "checkpoint_p4", "checkpoint_p5", "whole_module",
    ])
    func fixtures(_ name: String) throws {
        let expected = try #require(try Self.expected(name)["root"])
        for verify in [true, false] {
            let checkpoint = try TorchCheckpoint(path: PickleTests.fixtures.appendingPathComponent("\(name).pt").path, verifyChecksums: verify)
            var groups: [Int: TorchStorage] = [:]
            Self.compare(checkpoint.root, expected, name, &groups)
            #expect(checkpoint.archiveName == name)
        }
    }

    @Test("A state dict: names in order, views share the weight's storage, float32 is read in place")
    func stateDict() throws {
        let c = try Self.load("state_dict")
        let sd = try c.stateDict()
        #expect(sd.map(\.name).prefix(4) == ["weight", "bias", "transposed", "row"])
        let t = Dictionary(uniqueKeysWithValues: sd.map { ($0.name, $0.tensor) })
        let w = try #require(t["weight"]), tr = try #require(t["transposed"])
        #expect(w.storage === tr.storage && tr.strides == [1, 4] && !tr.isContiguous && w.isContiguous)
        #expect(tr.float32Buffer == nil)
        let wf = try w.floats(), trf = try tr.floats()
        for i in 0..<3 { for j in 0..<4 { #expect(wf[i * 4 + j] == trf[j * 3 + i]) } }
        #expect(try t["row"]!.floats() == Array(wf[4..<8]))
        #expect(try t["column"]!.floats() == [wf[2], wf[6], wf[10]])
        // Zero copy: the buffer points into the mapped file.
        let direct = try #require(w.float32Buffer)
        #expect(Array(direct) == wf)
        #expect(try t["scalar"]!.floats() == [2.75] && t["scalar"]!.shape == [] && t["empty"]!.count == 0)
        #expect(try t["empty"]!.floats() == [])
        #expect(try t["double"]!.floats()[1] == -.infinity)
    }

    @Test("An OpenNMT-style checkpoint: argparse options, vocabularies, tied weights, parameters")
    func checkpointHelpers() throws {
        let c = try Self.load("checkpoint_p2")
        let opt = try c.value(at: ["opt"])
        guard case .object("argparse.Namespace", [], .dict?) = opt else { Issue.record("opt is \(opt.kindName)"); return }
        #expect(opt["layers"]?.int == 2 && opt["share_embeddings"]?.bool == true && opt["model_type"]?.string == "text")
        #expect(opt["dropout"] == .list([.float(0.3)]) && opt["none"]?.isNone == true)
        #expect(try c.value(at: ["opt", "nested", "k"]) == .tuple([.int(1), .string("v")]))
        #expect(try c.value(at: ["vocab", "tgt"]).elements?.compactMap(\.string) == ["<unk>", "<blank>", "<s>", "</s>", "x"])
        let model = try c.stateDict(at: ["model"]), generator = try c.stateDict(at: ["generator"])
        #expect(model.map(\.name) == ["weight"] && generator.map(\.name) == ["weight", "bias"])
        #expect(model[0].tensor.storage === generator[0].tensor.storage)  // tied
        #expect(try c.value(at: ["param"]).tensor?.floats() == [0.25, -0.5])
        #expect(try c.value(at: ["param_with_state"]).tensor?.floats() == [1, 2])
        #expect(try c.value(at: ["epoch"]).int == 3)
        PickleTests.expectError(["checkpoint_p2.pt", "opt", "no key \"missing\"", "\"layers\""]) { _ = try c.value(at: ["opt", "missing"]) }
        PickleTests.expectError(["checkpoint_p2.pt", "vocab.src", "not a state dict"]) { _ = try c.stateDict(at: ["vocab", "src"]) }
        PickleTests.expectError(["vocab.src", "is a list, not a tensor"]) { _ = try c.stateDict(at: ["vocab"]) }
        let misc = try c.value(at: ["misc"])
        #expect(misc["shared_a"] == misc["shared_b"] && misc["dtype"] == .global("torch.float16"))
        #expect(misc["custom"] == .object(className: "__main__.Custom", args: [],
                                          state: .dict([(.string("a"), .int(1)), (.string("b"), .list([.float(2.5), .string("three")]))])))
        #expect(misc.attributes?.contains { $0.key == .int(1) && $0.value == .string("int key") } == true)
    }

    @Test("A legacy (pre-1.6) checkpoint is refused with how to re-save it")
    func legacy() throws {
        let words = try Self.expected("legacy")["error"]!.array!.compactMap(\.string)
        PickleTests.expectError(words + ["legacy.pt"]) { _ = try Self.load("legacy") }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
