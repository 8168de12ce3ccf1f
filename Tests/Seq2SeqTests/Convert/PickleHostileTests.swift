import Foundation
@testable import Seq2Seq
@testable import Seq2SeqConvert
import Testing

/// Pickles and archives a hostile or broken file can hold: each gives inert data or a `Seq2SeqError` whose
/// message names the problem, never a call, a crash, a hang or unbounded memory.
@Suite("Hostile pickles")
struct PickleHostileTests {
    typealias T = PickleTests

    // MARK: Code execution

    @Test("GLOBAL/STACK_GLOBAL of eval, exec, os.system, posix.system, subprocess.Popen then REDUCE is inert data; nothing runs")
    func callablesAreInert() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-pwned-\(UUID().uuidString)").path
        let command = "touch \(marker)"
        let cases: [([UInt8], String, [PickleValue])] = [
            (P.global("builtins", "eval") + P.tupleOf([P.str("open('\(marker)', 'w')")]), "builtins.eval", [.string("open('\(marker)', 'w')")]),
            (P.global("__builtin__", "exec") + P.tupleOf([P.str("import os")]), "builtins.exec", [.string("import os")]),
            (P.global("os", "system") + P.tupleOf([P.str(command)]), "os.system", [.string(command)]),
            (P.global("posix", "system") + P.tupleOf([P.str(command)]), "posix.system", [.string(command)]),
            (P.stackGlobal("subprocess", "Popen") + P.tupleOf([P.emptyList + P.mark + P.str("touch") + P.str(marker) + P.appends]),
             "subprocess.Popen", [.list([.string("touch"), .string(marker)])]),
        ]
        for (body, name, args) in cases {
            let pickle = P.proto4 + body + P.reduce + P.stop
            #expect(try T.unpickle(pickle) == .object(className: name, args: args, state: nil))
            // The same inside a checkpoint, beside a real tensor.
            let c = try T.checkpoint(ZipWriter.torch(P.proto2 + P.emptyDict + P.str("w") + P.tensor(P.storage("0", count: 2), shape: [2], strides: [1])
                + P.setitem + P.str("x") + body + P.reduce + P.setitem + P.stop, records: [("0", float32Bytes([1, 2]))]))
            #expect(c.root["x"] == .object(className: name, args: args, state: nil))
            #expect(try c.root["w"]?.tensor?.floats() == [1, 2])
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "a pickle ran a command")
    }

    @Test("What weights_only=True let through (CVE-2025-32434 class) is refused or stays inert")
    func weightsOnlyBypasses() throws {
        // A non-whitelisted callable's result where a storage must be.
        T.expectError(["_rebuild_tensor_v2", "the storage is an object posix.system", "offset"]) {
            _ = try T.unpickle(P.proto2 + P.tensor(P.global("posix", "system") + P.tupleOf([P.str("id")]) + P.reduce, shape: [1], strides: [1]) + P.stop)
        }
        // BUILD on a tensor (where __setstate__ would run in Python).
        T.expectError(["0x62 BUILD", "applied to a tensor"]) {
            _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 2), shape: [2], strides: [1])
                + P.emptyDict + P.str("__setstate__") + P.global("os", "system") + P.setitem + P.build + P.stop)
        }
        // __setstate__ / __reduce__ smuggled in an object's state: stored, never looked at.
        let smuggled = P.global("collections", "Counter") + P.emptyTuple + P.newobj
            + P.emptyDict + P.str("__setstate__") + P.global("os", "system") + P.setitem + P.build + P.stop
        #expect(try T.unpickle(P.proto2 + smuggled)
                == .object(className: "collections.Counter", args: [], state: .dict([(.string("__setstate__"), .global("os.system"))])))
        // BUILD on a class or function, REDUCE and NEWOBJ of something that is not a name, a parameter of a non-tensor.
        T.expectError(["BUILD", "applied to the global builtins.object"]) {
            _ = try T.unpickle(P.proto2 + P.global("builtins", "object") + P.emptyDict + P.build + P.stop)
        }
        T.expectError(["0x52 REDUCE", "calls an object os.system, which is not a global name"]) {
            _ = try T.unpickle(P.proto2 + P.global("os", "system") + P.tupleOf([P.str("id")]) + P.reduce + P.emptyTuple + P.reduce + P.stop)
        }
        T.expectError(["NEWOBJ", "a list, which is not a global name"]) {
            _ = try T.unpickle(P.proto2 + P.emptyList + P.emptyTuple + P.newobj + P.stop)
        }
        T.expectError(["_rebuild_parameter", "an object os.system"]) {
            _ = try T.unpickle(P.proto2 + P.global("torch._utils", "_rebuild_parameter")
                + P.tupleOf([P.global("os", "system") + P.tupleOf([P.str("id")]) + P.reduce, P.newfalse, P.emptyDict]) + P.reduce + P.stop)
        }
        // _rebuild_from_type_v2 with a function that is not a tensor rebuilder stays an inert object.
        let v = try T.unpickle(P.proto2 + P.global("torch._tensor", "_rebuild_from_type_v2")
            + P.tupleOf([P.global("os", "system"), P.global("torch", "Tensor"), P.tupleOf([P.str("id")]), P.emptyDict]) + P.reduce + P.stop)
        #expect(v == .object(className: "torch._tensor._rebuild_from_type_v2",
                             args: [.global("os.system"), .global("torch.Tensor"), .tuple([.string("id")]), .dict([])], state: nil))
        // A storage outside a tensor.
        T.expectError(["storage \"0\"", "outside a tensor"]) { _ = try T.unpickle(P.proto2 + P.storage("0", count: 1) + P.stop) }
    }

    // MARK: Containers

    @Test("SETITEM on a list, SETITEMS on a tuple, APPEND on a dict, ADDITEMS on a frozenset are refused with the opcode and offset")
    func wrongContainers() throws {
        T.expectError(["0x73 SETITEM at offset 15", "applied to a list, not a dict"]) {
            _ = try T.unpickle(P.proto2 + P.emptyList + P.str("k") + P.str("v") + P.setitem + P.stop)
        }
        T.expectError(["0x75 SETITEMS at offset 16", "applied to a tuple, not a dict"]) {
            _ = try T.unpickle(P.proto2 + P.emptyTuple + P.mark + P.str("k") + P.str("v") + P.setitems + P.stop)
        }
        T.expectError(["0x61 APPEND at offset 4", "applied to a dict, not a list"]) {
            _ = try T.unpickle(P.proto2 + P.emptyDict + P.none + P.append + P.stop)
        }
        T.expectError(["APPENDS", "applied to an object argparse.Namespace, not a list"]) {
            _ = try T.unpickle(P.proto2 + P.global("argparse", "Namespace") + P.emptyTuple + P.newobj + P.mark + P.none + P.appends + P.stop)
        }
        T.expectError(["ADDITEMS", "a frozenset, not a set"]) {
            _ = try T.unpickle(P.proto4 + P.mark + P.none + P.op(.frozenset) + P.mark + P.none + P.op(.additems) + P.stop)
        }
        T.expectError(["SETITEM", "a list cannot be a dict key", "unhashable"]) {
            _ = try T.unpickle(P.proto2 + P.emptyDict + P.emptyList + P.none + P.setitem + P.stop)
        }
        T.expectError(["BUILD applied twice"]) {
            _ = try T.unpickle(P.proto2 + P.global("argparse", "Namespace") + P.emptyTuple + P.newobj + P.emptyDict + P.build + P.emptyDict + P.build + P.stop)
        }
    }

    @Test("A container that contains itself through the memo is refused (lists, dicts, tuples via lists)")
    func cycles() throws {
        T.expectError(["a list made at offset 2 contains itself", "cycle"]) {
            _ = try T.unpickle(P.proto2 + P.emptyList + P.put(0) + P.get(0) + P.append + P.stop)
        }
        T.expectError(["a dict made at offset 2 contains itself"]) {
            _ = try T.unpickle(P.proto2 + P.emptyDict + P.put(0) + P.str("self") + P.get(0) + P.setitem + P.stop)
        }
        T.expectError(["contains itself"]) {  // list -> tuple -> list
            _ = try T.unpickle(P.proto2 + P.emptyList + P.put(0) + P.get(0) + P.tuple1 + P.append + P.stop)
        }
        // Sharing without a cycle is fine: the same list twice.
        #expect(try T.unpickle(P.proto2 + P.emptyList + P.put(0) + P.get(0) + P.tuple2 + P.stop) == .tuple([.list([]), .list([])]))
    }

    @Test("100,000 MARKs, EMPTY_LISTs or TUPLE1s: depth and stack errors, no stack overflow")
    func deepNesting() {
        let n = 100_000
        T.expectError(["values nest deeper than \(Unpickler.maxDepth) levels"]) {
            _ = try T.unpickle(P.proto2 + Array(repeating: P.emptyList + P.mark, count: n).flatMap { $0 } + P.emptyList
                + Array(repeating: P.appends, count: n).flatMap { $0 } + P.stop)
        }
        T.expectError(["nest deeper"]) { _ = try T.unpickle(P.proto2 + P.none + Array(repeating: P.tuple1, count: n).flatMap { $0 } + P.stop) }
        T.expectError(["STOP with \(n) MARKs still open"]) { _ = try T.unpickle(P.proto2 + Array(repeating: P.mark, count: n).flatMap { $0 } + P.none + P.stop) }
        T.expectError(["STOP with \(n) values on the stack"]) { _ = try T.unpickle(P.proto2 + Array(repeating: P.emptyList, count: n).flatMap { $0 } + P.stop) }
        // A dict key nested deeper than the limit.
        T.expectError(["a key nests deeper"]) {
            _ = try T.unpickle(P.proto2 + P.emptyDict + P.none + Array(repeating: P.tuple1, count: 1000).flatMap { $0 } + P.none + P.setitem + P.stop)
        }
        // At the limit it is accepted.
        #expect((try? T.unpickle(P.proto2 + P.none + Array(repeating: P.tuple1, count: Unpickler.maxDepth - 1).flatMap { $0 } + P.stop)) != nil)
    }

    @Test("A few bytes describing an exponentially large tree through shared lists are refused by the element limit")
    func exponentialSharing() {
        // l0 = []; l(k+1) = [lk, lk]: 2^64 leaves in the tree, 65 lists in the file.
        var p = P.proto2 + P.emptyList + P.put(0) + P.op(.pop)
        for _ in 0..<64 { p += P.emptyList + P.mark + P.get(0) + P.get(0) + P.appends + P.put(0) + P.op(.pop) }
        T.expectError(["more than \(Unpickler.maxElements) values in the tree"]) { _ = try T.unpickle(p + P.get(0) + P.stop) }
        // 20 levels (2^21 values) are fine.
        var q = P.proto2 + P.emptyList + P.put(0) + P.op(.pop)
        for _ in 0..<20 { q += P.emptyList + P.mark + P.get(0) + P.get(0) + P.appends + P.put(0) + P.op(.pop) }
        #expect((try? T.unpickle(q + P.get(0) + P.stop)) != nil)
    }

    // MARK: The stream itself

    @Test("Malformed streams name the opcode, its offset and the problem", arguments: [
        (P.proto2 + P.op(.binget) + [5] + P.stop, ["0x68 BINGET at offset 2", "memo index 5 was never set"]),
        (P.proto2 + P.reduce + P.stop, ["0x52 REDUCE at offset 2", "stack underflow"]),
        (P.proto2 + P.none + P.mark + P.tuple2 + P.stop, ["TUPLE2", "stack underflow", "after the last MARK"]),
        (P.proto2 + P.emptyList + P.appends + P.stop, ["0x65 APPENDS at offset 3", "no MARK is open"]),
        (P.proto2 + Array("I12\n".utf8) + P.stop, ["0x49 INT at offset 2", "protocol 0/1 text opcode"]),
        (P.proto2 + P.op(.inst), ["0x69 INST", "instantiates a class"]),
        (P.proto2 + P.op(.ext1) + [1], ["0x82 EXT1", "extension registry"]),
        (P.proto2 + P.op(.nextBuffer), ["0x97 NEXT_BUFFER", "out-of-band"]),
        (P.proto2 + [0xFF] + P.stop, ["0xFF at offset 2", "not a pickle opcode"]),
        ([0x80, 6] + P.none + P.stop, ["0x80 PROTO at offset 0", "protocol 6 is not supported"]),
        (P.proto2 + P.op(.binunicode) + P.le(1000, 4) + Array("abc".utf8), ["0x58 BINUNICODE at offset 2", "needs 1000 bytes, but only 3 are left"]),
        (P.proto2 + P.op(.binbytes8) + P.le(Int.max, 8), ["BINBYTES8", "needs 9223372036854775807 bytes"]),
        (P.proto2 + P.op(.binunicode) + P.le(2, 4) + [0xC3, 0x28] + P.stop, ["BINUNICODE", "not valid UTF-8"]),
        (P.proto2 + P.op(.long1) + [9] + [UInt8](repeating: 0xFF, count: 9) + P.stop, ["0x8A LONG1", "an integer of 9 bytes does not fit in 64 bits"]),
        (P.proto2 + P.op(.long4) + P.le(-1, 4) + P.stop, ["LONG4", "negative length"]),
        (P.proto2 + P.op(.binstring) + P.le(-5, 4) + P.stop, ["BINSTRING", "negative length"]),
        (P.proto4 + P.op(.frame) + P.le(100, 8) + P.none + P.stop, ["0x95 FRAME", "frame of 100 bytes"]),
        (P.proto2 + P.none, ["the pickle ends without STOP"]),
        (P.proto2 + P.none + P.stop + [0x00, 0x01], ["0x2E STOP", "2 bytes follow STOP"]),
        (P.proto2 + P.stop, ["STOP with 0 values on the stack"]),
        (P.proto2 + P.mark + P.none + P.none + P.op(.dict) + P.none + P.stop, ["STOP with 2 values"]),
        (P.proto2 + P.mark + P.none + P.op(.dict) + P.stop, ["DICT", "1 values after MARK cannot be key/value pairs"]),
        (P.proto4 + P.int(1) + P.str("x") + P.op(.stackGlobal) + P.stop, ["STACK_GLOBAL", "module and a name string"]),
        (P.proto2 + P.op(.global) + Array("os".utf8), ["GLOBAL", "no end of line"]),
        (P.proto2 + P.op(.global) + [UInt8](repeating: 0x61, count: 5000) + [0x0A], ["GLOBAL", "longer than 1000 bytes"]),
        (P.proto2 + P.global("collections", "OrderedDict") + P.tupleOf([P.int(3)]) + P.reduce + P.stop, ["OrderedDict", "list of pairs"]),
        (P.proto2 + P.global("builtins", "set") + P.tupleOf([P.int(3)]) + P.reduce + P.stop, ["builtins.set", "a list, tuple or set"]),
        (P.proto2 + P.global("_codecs", "encode") + P.tupleOf([P.str("\u{263A}"), P.str("latin1")]) + P.reduce + P.stop, ["latin-1"]),
        (P.proto2 + P.global("argparse", "Namespace") + P.emptyList + P.newobj + P.stop, ["NEWOBJ", "arguments of argparse.Namespace", "not a tuple"]),
    ] as [([UInt8], [String])])
    func malformed(_ pickle: [UInt8], _ words: [String]) {
        T.expectError(["test.pkl"] + words) { _ = try T.unpickle(pickle) }
    }

    @Test("Known globals get their meaning; bytes of protocol 2, sets, OrderedDict pairs, torch.Size, duplicate keys")
    func knownGlobals() throws {
        let v = try T.unpickle(P.proto2 + P.emptyDict
            + P.str("b") + P.global("_codecs", "encode") + P.tupleOf([P.str("\u{00FF}a"), P.str("latin1")]) + P.reduce + P.setitem
            + P.str("e") + P.global("__builtin__", "bytes") + P.emptyTuple + P.reduce + P.setitem
            + P.str("s") + P.global("__builtin__", "set") + P.tupleOf([P.emptyList + P.mark + P.int(1) + P.op(.newtrue) + P.int(2) + P.appends]) + P.reduce + P.setitem
            + P.str("o") + P.global("collections", "OrderedDict") + P.tupleOf([P.emptyList + P.mark + P.tupleOf([P.str("k"), P.int(1)]) + P.appends]) + P.reduce + P.setitem
            + P.str("z") + P.global("torch", "Size") + P.tupleOf([P.tupleOf([P.int(2), P.int(3)])]) + P.reduce + P.setitem
            + P.str("b") + P.none + P.setitem  // a repeated key takes the new value in place
            + P.str("r") + P.global("copyreg", "_reconstructor") + P.tupleOf([P.global("m", "C"), P.global("builtins", "object"), P.none]) + P.reduce + P.setitem
            + P.stop)
        #expect(v == .dict([(.string("b"), .none), (.string("e"), .bytes([])), (.string("s"), .set([.int(1), .int(2)])),
                            (.string("o"), .dict([(.string("k"), .int(1))])), (.string("z"), .tuple([.int(2), .int(3)])),
                            (.string("r"), .object(className: "m.C", args: [], state: nil))]))
        #expect(try T.unpickle(P.proto2 + P.global("_codecs", "encode") + P.tupleOf([P.str("\u{00FF}a"), P.str("latin1")]) + P.reduce + P.stop) == .bytes([0xFF, 0x61]))
    }

    @Test("Tensor views that leave their storage and malformed persistent ids are refused")
    func badTensors() {
        T.expectError(["_rebuild_tensor_v2", "reach element 3 of storage \"0\", which holds 3"]) {
            _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 3), offset: 1, shape: [3], strides: [1]) + P.stop)
        }
        T.expectError(["reach element 12"]) { _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 12), offset: 1, shape: [3, 4], strides: [4, 1]) + P.stop) }
        T.expectError(["overflows the storage index"]) {
            _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 12), shape: [2, 2], strides: [Int.max, Int.max]) + P.stop)
        }
        T.expectError(["overflows the element count"]) {
            _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 12), shape: [Int.max / 2, 4], strides: [0, 0]) + P.stop)
        }
        T.expectError(["negative"]) { _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 3), shape: [-1], strides: [1]) + P.stop) }
        T.expectError(["different ranks"]) { _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 3), shape: [3], strides: []) + P.stop) }
        T.expectError(["storage offset 5 is past the end"]) { _ = try T.unpickle(P.proto2 + P.tensor(P.storage("0", count: 3), offset: 5, shape: [0], strides: [1]) + P.stop) }
        T.expectError(["BINPERSID", "not ('storage', type, key, location, numel)"]) {
            _ = try T.unpickle(P.proto2 + P.tupleOf([P.str("storage"), P.str("x")]) + P.binpersid + P.stop)
        }
        T.expectError(["storage type torch.ComplexFloatStorage is not supported"]) {
            _ = try T.unpickle(P.proto2 + P.storage("0", count: 1, type: "ComplexFloatStorage") + P.stop)
        }
        T.expectError(["storage \"0\"", "not a non-negative int"]) { _ = try T.unpickle(P.proto2 + P.storage("0", count: -1) + P.stop) }
        T.expectError(["storage \"0\" is declared as 4 elements of float16 here, but as 2 of float32 before"]) {
            _ = try T.unpickle(P.proto2 + P.storage("0", count: 2) + P.op(.pop) + P.storage("0", count: 4, type: "HalfStorage") + P.stop)
        }
        T.expectError(["_rebuild_tensor_v2 needs 6 or 7 arguments, found 2"]) {
            _ = try T.unpickle(P.proto2 + P.global("torch._utils", "_rebuild_tensor_v2") + P.tupleOf([P.none, P.none]) + P.reduce + P.stop)
        }
    }

    @Test("A broadcast view far larger than its storage is refused when read, naming its size; a small one is read")
    func hugeBroadcastRead() throws {
        let storage = T.zeroStorage(count: 42)
        // (42, 2^30) with strides (1, 0): inside the storage, 45 billion elements when read.
        let huge = try TorchTensor(storage: storage, shape: [42, 1 << 30], strides: [1, 0], storageOffset: 0)
        T.expectError(["[42, 1073741824]", "storage \"0\" of 42"]) { _ = try huge.floats() }
        let small = try TorchTensor(storage: storage, shape: [42, 3], strides: [1, 0], storageOffset: 0)
        #expect(try small.floats().count == 126)
    }

    @Test("An empty view whose other sizes multiply past Int.max is contiguous and reads as nothing")
    func emptyViewHugeSizes() throws {
        let storage = T.zeroStorage(count: 4)
        // (0, 2, 2^62) with strides (0, 2^62, 1): accepted (no element, last index Int.max); 2 · 2^62 overflowed
        // in isContiguous, which floats() and float32Buffer ask first.
        let empty = try TorchTensor(storage: storage, shape: [0, 2, 1 << 62], strides: [0, 1 << 62, 1], storageOffset: 0)
        #expect(empty.isContiguous)
        #expect(empty.float32Buffer?.count == 0)
        #expect(try empty.floats().isEmpty)
        let transposed = try TorchTensor(storage: storage, shape: [2, 2], strides: [1, 2], storageOffset: 0)
        #expect(!transposed.isContiguous)
    }

    @Test("A state dict that names a tensor twice is refused by the converters, naming it (Python would keep the last)")
    func duplicateStateDictName() throws {
        let storage = T.zeroStorage(count: 4)
        let t = try TorchTensor(storage: storage, shape: [4], strides: [1], storageOffset: 0)
        #expect(try ToolkitWeights([("a.bias", t), ("b.bias", t)], origin: "x.pt").names == ["a.bias", "b.bias"])
        T.expectError(["x.pt", "a.bias", "twice"]) { _ = try ToolkitWeights([("a.bias", t), ("b.bias", t), ("a.bias", t)], origin: "x.pt") }
    }
}
