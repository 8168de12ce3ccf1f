import Seq2Seq

/// Finds the storage `data/<key>` that a persistent id names, declared as `count` elements of `dtype`; throws a
/// `PickleFailure` saying what is wrong (a missing record, a size that disagrees with the count).
typealias StorageResolver = (_ key: String, _ dtype: TorchDType, _ count: Int, _ location: String) throws -> TorchStorage

/// Why the pickle is refused, without its context (the unpickler adds the file, the opcode and its offset).
struct PickleFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A restricted unpickler: it interprets the opcodes of `Opcode` on a stack machine of its own and builds plain
/// data. It imports nothing, calls nothing and looks nothing up: `GLOBAL` only records a name, `REDUCE` and
/// `NEWOBJ` give a handful of names a meaning (tensors, storages, ordered and default dicts, sets, bytes) and
/// make an inert `object` of every other, `BUILD` records state.
///
/// Python's semantics are kept where they matter: the memo holds references, so a container memoized and then
/// filled (`EMPTY_DICT BINPUT MARK ... SETITEMS`) is the same container wherever it is fetched again. Objects
/// live in an arena while the pickle runs (children are indices, so deep or cyclic structures cost no
/// recursion), and the result is converted to a `PickleValue` tree at `STOP`. Refused, with the opcode and its
/// offset: an opcode that is not interpreted, stack underflow, `MARK` misuse, a memo index never set, lengths
/// beyond the data, integers beyond 64 bits, invalid UTF-8, `SETITEM(S)` on anything but a dict, `APPEND(S)` on
/// anything but a list, `ADDITEMS` on anything but a set, `BUILD` on anything but an object or an ordered dict
/// (on a tensor in particular), `REDUCE` or `NEWOBJ` of something that is not a name, malformed tensors and
/// storages, unhashable dict keys. Refused at the end: a missing `STOP`, `STOP` with more or less than one value
/// on the stack or with an open mark, bytes after `STOP` (the pickle must be the whole record), a container that
/// contains itself, nesting deeper than `maxDepth`, more than `maxElements` values in the tree.
///
/// Time and memory are linear in the pickle's size: each opcode adds at most one object to the arena, and
/// conversion visits each object once (a container shared through the memo is converted once and shared).
struct Unpickler {
    /// The deepest nesting of containers accepted (real checkpoints nest a few levels; Python's own limit is 1,000).
    static let maxDepth = 200
    /// The most values a result may hold, counting a shared container each time it appears.
    static let maxElements = 10_000_000

    let data: UnsafeRawBufferPointer
    let resolve: StorageResolver
    var pos = 0
    /// Where the opcode being run starts, and its byte.
    var opOffset = 0
    var opByte: UInt8 = 0

    var nodes: [Node] = []
    /// Where each node was made, for messages.
    var nodeOffsets: [Int] = []
    var lists: [[Int]] = []
    var dicts: [DictBuilder] = []
    var sets: [SetBuilder] = []
    var objects: [ObjectBuilder] = []
    var stack: [Int] = []
    /// Stack heights at each open MARK.
    var marks: [Int] = []
    var memo: [Int: Int] = [:]
    var storages: [String: TorchStorage] = [:]

    init(data: UnsafeRawBufferPointer, resolve: @escaping StorageResolver) {
        self.data = data
        self.resolve = resolve
    }

    /// Unpickles `data`. Errors are `Seq2SeqError.invalidModel` starting with `context` (the file and record).
    static func load(_ data: UnsafeRawBufferPointer, context: String, resolve: @escaping StorageResolver) throws -> PickleValue {
        var u = Unpickler(data: data, resolve: resolve)
        let root: Int
        do {
            root = try u.run()
        } catch let f as PickleFailure {
            let op = Opcode(rawValue: u.opByte).map { " \($0.name)" } ?? ""
            throw Seq2SeqError.invalidModel("\(context): opcode \(hex(u.opByte))\(op) at offset \(u.opOffset): \(f.message)")
        }
        do {
            var tree = ValueTree(u)
            return try tree.value(of: root)
        } catch let f as PickleFailure {
            throw Seq2SeqError.invalidModel("\(context): \(f.message)")
        }
    }

    // MARK: The machine

    /// Runs opcodes until `STOP`; returns the node of the result.
    mutating func run() throws -> Int {
        while true {
            guard pos < data.count else {
                opOffset = pos
                opByte = 0
                throw PickleFailure("the pickle ends without STOP (\(data.count) bytes)")
            }
            opOffset = pos
            opByte = data[pos]
            pos += 1
            guard let op = Opcode(rawValue: opByte) else { throw PickleFailure("not a pickle opcode") }
            if let why = op.refusal { throw PickleFailure("\(op.name) \(why)") }
            switch op {
            case .proto:
                let v = try byte()
                guard v <= 5 else { throw PickleFailure("protocol \(v) is not supported (0 to 5 are)") }
            case .frame:
                let n = try uint(8)
                guard n <= UInt64(data.count - pos) else { throw PickleFailure("frame of \(n) bytes is longer than the \(data.count - pos) bytes left") }
            case .stop:
                guard marks.isEmpty else { throw PickleFailure("STOP with \(marks.count) MARK\(marks.count == 1 ? "" : "s") still open") }
                guard stack.count == 1 else { throw PickleFailure("STOP with \(stack.count) values on the stack (1 expected)") }
                guard pos == data.count else { throw PickleFailure("\(data.count - pos) bytes follow STOP; the pickle must end there") }
                return stack[0]
            case .mark: marks.append(stack.count)
            case .pop:
                if stack.count > (marks.last ?? 0) { stack.removeLast() } else if !marks.isEmpty { _ = try popMark() } else {
                    throw PickleFailure("stack underflow: no value to pop")
                }
            case .popMark: _ = try popMark()
            case .dup: stack.append(try top())
            case .none: push(.leaf(.none))
            case .newtrue: push(.leaf(.bool(true)))
            case .newfalse: push(.leaf(.bool(false)))
            case .binint: push(.leaf(.int(Int(Int32(bitPattern: UInt32(try uint(4)))))))
            case .binint1: push(.leaf(.int(Int(try uint(1)))))
            case .binint2: push(.leaf(.int(Int(try uint(2)))))
            case .long1: push(.leaf(.int(try long(Int(try uint(1))))))
            case .long4: push(.leaf(.int(try long(Int(Int32(bitPattern: UInt32(try uint(4))))))))
            case .binfloat: push(.leaf(.float(Double(bitPattern: UInt64(bigEndian: try bytes(8).loadUnaligned(as: UInt64.self))))))
            case .shortBinunicode: push(.leaf(.string(try utf8(try bytes(uint(1))))))
            case .binunicode: push(.leaf(.string(try utf8(try bytes(uint(4))))))
            case .binunicode8: push(.leaf(.string(try utf8(try bytes(uint(8))))))
            case .shortBinbytes: push(.leaf(.bytes(Array(try bytes(uint(1))))))
            case .binbytes: push(.leaf(.bytes(Array(try bytes(uint(4))))))
            case .binbytes8, .bytearray8: push(.leaf(.bytes(Array(try bytes(uint(8))))))
            case .shortBinstring, .binstring:
                let n = op == .shortBinstring ? Int(try uint(1)) : Int(Int32(bitPattern: UInt32(try uint(4))))
                guard n >= 0 else { throw PickleFailure("negative length \(n)") }
                let raw = try bytes(UInt64(n))
                push(.leaf(utf8String(raw).map(PickleValue.string) ?? .bytes(Array(raw))))
            case .emptyList: push(.list(newList([])))
            case .list: push(.list(newList(try popMark())))
            case .emptyTuple: push(.tuple([]))
            case .tuple: push(.tuple(try popMark()))
            case .tuple1, .tuple2, .tuple3:
                let n = Int(op.rawValue - Opcode.tuple1.rawValue) + 1
                push(.tuple(try pop(n)))
            case .emptyDict: push(.dict(newDict(.plain)))
            case .dict:
                let items = try popMark()
                let d = newDict(.plain)
                try setItems(items, into: d)
                push(.dict(d))
            case .emptySet: push(.set(newSet(frozen: false)))
            case .frozenset:
                let items = try popMark()
                let s = newSet(frozen: true)
                for i in items { try insert(i, intoSet: s) }
                push(.set(s))
            case .append:
                let v = try pop(1)[0]
                try appendItems([v], to: try top())
            case .appends:
                let items = try popMark()
                try appendItems(items, to: try top())
            case .setitem:
                let kv = try pop(2)
                try setItems(kv, into: try dictIndex(try top()))
            case .setitems:
                let items = try popMark()
                try setItems(items, into: try dictIndex(try top()))
            case .additems:
                let items = try popMark()
                let target = try top()
                guard case .set(let s) = nodes[target], !sets[s].frozen else {
                    throw PickleFailure("ADDITEMS applied to \(describe(target)), not a set")
                }
                for i in items { try insert(i, intoSet: s) }
            case .binput: memo[Int(try uint(1))] = try top()
            case .longBinput: memo[Int(try uint(4))] = try top()
            case .memoize: memo[memo.count] = try top()
            case .binget, .longBinget:
                let i = Int(try uint(op == .binget ? 1 : 4))
                guard let n = memo[i] else { throw PickleFailure("memo index \(i) was never set") }
                stack.append(n)
            case .global:
                let module = try line("module"), name = try line("name")
                push(.global(Self.qualified(module, name)))
            case .stackGlobal:
                let mn = try pop(2)
                guard case .leaf(.string(let module)) = nodes[mn[0]], case .leaf(.string(let name)) = nodes[mn[1]] else {
                    throw PickleFailure("STACK_GLOBAL needs a module and a name string, found \(describe(mn[0])) and \(describe(mn[1]))")
                }
                push(.global(Self.qualified(module, name)))
            case .reduce:
                let fa = try pop(2)
                push(try reduce(fa[0], fa[1]))
            case .newobj:
                let ca = try pop(2)
                push(try newObject(ca[0], args: ca[1], kwargs: nil))
            case .newobjEx:
                let cak = try pop(3)
                push(try newObject(cak[0], args: cak[1], kwargs: cak[2]))
            case .build:
                let state = try pop(1)[0]
                try build(try top(), state: state)
            case .binpersid:
                push(try persistentLoad(try pop(1)[0]))
            case .float, .int, .long, .string, .unicode, .get, .put, .persid, .inst, .obj, .ext1, .ext2, .ext4,
                 .nextBuffer, .readonlyBuffer:
                throw PickleFailure("\(op.name) is not supported")  // refused above
            }
        }
    }

    // MARK: Reading the data

    mutating func byte() throws -> UInt8 { try bytes(1)[0] }

    /// An unsigned little-endian integer of `width` bytes.
    mutating func uint(_ width: Int) throws -> UInt64 {
        let raw = try bytes(UInt64(width))
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(raw[k]) << (8 * UInt64(k)) }
        return v
    }

    /// The next `n` bytes (no copy).
    mutating func bytes(_ n: UInt64) throws -> UnsafeRawBufferPointer {
        let left = data.count - pos
        guard n <= UInt64(left) else { throw PickleFailure("needs \(n) bytes, but only \(left) are left") }
        defer { pos += Int(n) }
        return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + Int(n))])
    }

    /// A little-endian two's complement integer of `n` bytes (LONG1, LONG4), which must fit in 64 bits.
    mutating func long(_ n: Int) throws -> Int {
        guard n >= 0 else { throw PickleFailure("negative length \(n)") }
        let raw = try bytes(UInt64(n))
        guard n <= 8 else { throw PickleFailure("an integer of \(n) bytes does not fit in 64 bits") }
        guard n > 0 else { return 0 }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(raw[k]) << (8 * UInt64(k)) }
        if n < 8, raw[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }  // sign-extend
        return Int(Int64(bitPattern: v))
    }

    func utf8(_ raw: UnsafeRawBufferPointer) throws -> String {
        guard let s = utf8String(raw) else { throw PickleFailure("string of \(raw.count) bytes is not valid UTF-8") }
        return s
    }

    /// A newline-terminated line of `GLOBAL`, at most 1,000 bytes.
    mutating func line(_ what: String) throws -> String {
        let start = pos
        while pos < data.count, data[pos] != 0x0A {
            guard pos - start < 1000 else { throw PickleFailure("the \(what) of GLOBAL is longer than 1000 bytes") }
            pos += 1
        }
        guard pos < data.count else { throw PickleFailure("the \(what) of GLOBAL has no end of line") }
        let s = try utf8(UnsafeRawBufferPointer(rebasing: data[start..<pos]))
        pos += 1
        return s
    }

    /// `module.name`, with Python 2's module names (`__builtin__`, `copy_reg`) mapped as Python 3 maps them.
    static func qualified(_ module: String, _ name: String) -> String {
        let m = ["__builtin__": "builtins", "copy_reg": "copyreg"][module] ?? module
        return "\(m).\(name)"
    }

    // MARK: The stack

    @discardableResult
    mutating func push(_ node: Node) -> Int {
        nodes.append(node)
        nodeOffsets.append(opOffset)
        stack.append(nodes.count - 1)
        return nodes.count - 1
    }

    /// The top of the stack above the innermost mark.
    func top() throws -> Int {
        guard stack.count > (marks.last ?? 0) else { throw PickleFailure("stack underflow: no value\(marks.isEmpty ? "" : " after the last MARK")") }
        return stack[stack.count - 1]
    }

    /// The top `n` values above the innermost mark, bottom first.
    mutating func pop(_ n: Int) throws -> [Int] {
        let floor = marks.last ?? 0
        guard stack.count - floor >= n else {
            throw PickleFailure("stack underflow: needs \(n) value\(n == 1 ? "" : "s"), \(stack.count - floor) \(marks.isEmpty ? "on the stack" : "after the last MARK")")
        }
        let values = Array(stack[(stack.count - n)...])
        stack.removeLast(n)
        return values
    }

    /// The values above the innermost mark, which is closed.
    mutating func popMark() throws -> [Int] {
        guard let m = marks.popLast() else { throw PickleFailure("no MARK is open") }
        let values = Array(stack[m...])
        stack.removeSubrange(m...)
        return values
    }
}
