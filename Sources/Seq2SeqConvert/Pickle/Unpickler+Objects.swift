/// The arena of the unpickler: what the stack and the memo refer to, by index.
enum Node {
    /// A finished value that holds no other node: none, bool, int, float, string, bytes, tensor.
    case leaf(PickleValue)
    /// A class or function named by GLOBAL or STACK_GLOBAL.
    case global(String)
    /// Indices into the unpickler's `lists`, `dicts`, `sets`, `objects`.
    case list(Int)
    case dict(Int)
    case set(Int)
    case object(Int)
    /// Tuples are immutable: their items are fixed when they are made.
    case tuple([Int])
    /// A persistent id resolved to an archive record (only `_rebuild_tensor*` may use it).
    case storage(TorchStorage)
}

/// A dict being filled: keys in insertion order, unique under Python's equality of keys.
struct DictBuilder {
    enum Kind { case plain, ordered, defaultFactory }
    /// `ordered` and `defaultFactory` are instances of classes (OrderedDict, defaultdict) that may take
    /// attributes through BUILD (PyTorch's `_metadata`); a plain dict may not.
    let kind: Kind
    var keys: [Int] = []
    var values: [Int] = []
    var index: [HashKey: Int] = [:]
    var built = false
}

struct SetBuilder {
    let frozen: Bool
    var items: [Int] = []
    var index: Set<HashKey> = []
}

struct ObjectBuilder {
    let className: String
    let args: [Int]
    var state: Int?
}

/// A dict key or set item under Python's equality: `True == 1 == 1.0`, tuples by content, strings and bytes by
/// value, other objects (tensors, instances) by identity. Lists, dicts and sets are unhashable.
enum HashKey: Hashable {
    case none
    case int(Int)
    case float(UInt64)
    case string(String)
    case bytes([UInt8])
    case global(String)
    case tuple([HashKey])
    case identity(Int)
}

extension Unpickler {
    mutating func newList(_ items: [Int]) -> Int {
        lists.append(items)
        return lists.count - 1
    }

    mutating func newDict(_ kind: DictBuilder.Kind) -> Int {
        dicts.append(DictBuilder(kind: kind))
        return dicts.count - 1
    }

    mutating func newSet(frozen: Bool) -> Int {
        sets.append(SetBuilder(frozen: frozen))
        return sets.count - 1
    }

    /// The kind of node `n` for messages: `a list`, `an object argparse.Namespace`.
    func describe(_ n: Int) -> String {
        switch nodes[n] {
        case .leaf(let v): return v.kindName
        case .global(let name): return "the global \(name)"
        case .list: return "a list"
        case .dict: return "a dict"
        case .set(let s): return sets[s].frozen ? "a frozenset" : "a set"
        case .object(let o): return "an object \(objects[o].className)"
        case .tuple: return "a tuple"
        case .storage(let s): return "storage \"\(s.key)\""
        }
    }

    func dictIndex(_ n: Int) throws -> Int {
        guard case .dict(let d) = nodes[n] else {
            throw PickleFailure("\(Opcode(rawValue: opByte)?.name ?? "SETITEM") applied to \(describe(n)), not a dict")
        }
        return d
    }

    func hashKey(_ n: Int, depth: Int = 0) throws -> HashKey {
        guard depth <= Self.maxDepth else { throw PickleFailure("a key nests deeper than \(Self.maxDepth) levels") }
        switch nodes[n] {
        case .leaf(.none): return .none
        case .leaf(.bool(let b)): return .int(b ? 1 : 0)
        case .leaf(.int(let i)): return .int(i)
        case .leaf(.float(let d)):
            if d.isNaN { return .identity(n) }
            if d == d.rounded(), let i = Int(exactly: d) { return .int(i) }
            return .float(d.bitPattern)
        case .leaf(.string(let s)): return .string(s)
        case .leaf(.bytes(let b)): return .bytes(b)
        case .global(let name): return .global(name)
        case .tuple(let items): return .tuple(try items.map { try hashKey($0, depth: depth + 1) })
        case .leaf, .object, .storage: return .identity(n)
        case .set(let s) where sets[s].frozen: return .identity(n)
        case .list, .dict, .set:
            throw PickleFailure("\(describe(n)) cannot be a dict key or a set item (unhashable)")
        }
    }

    /// Sets `items` (key, value, key, value, ...) into dict `d`; a key already there gets the new value.
    mutating func setItems(_ items: [Int], into d: Int) throws {
        guard items.count % 2 == 0 else { throw PickleFailure("\(items.count) values after MARK cannot be key/value pairs") }
        var k = 0
        while k < items.count {
            let key = try hashKey(items[k])
            if let at = dicts[d].index[key] {
                dicts[d].values[at] = items[k + 1]
            } else {
                dicts[d].index[key] = dicts[d].keys.count
                dicts[d].keys.append(items[k])
                dicts[d].values.append(items[k + 1])
            }
            k += 2
        }
    }

    mutating func insert(_ item: Int, intoSet s: Int) throws {
        if sets[s].index.insert(try hashKey(item)).inserted { sets[s].items.append(item) }
    }

    mutating func appendItems(_ items: [Int], to target: Int) throws {
        guard case .list(let l) = nodes[target] else {
            throw PickleFailure("\(Opcode(rawValue: opByte)?.name ?? "APPEND") applied to \(describe(target)), not a list")
        }
        lists[l].append(contentsOf: items)
    }

    /// BUILD: records the state of an inert object, or the attributes of an OrderedDict or defaultdict (which
    /// are not kept: PyTorch's `_metadata`). Anything else, a tensor in particular, cannot take state.
    mutating func build(_ target: Int, state: Int) throws {
        if case .leaf(.none) = nodes[state] { return }  // Python ignores a None state
        switch nodes[target] {
        case .object(let o):
            guard objects[o].state == nil else { throw PickleFailure("BUILD applied twice to \(describe(target))") }
            objects[o].state = state
        case .dict(let d) where dicts[d].kind != .plain:
            guard !dicts[d].built else { throw PickleFailure("BUILD applied twice to \(describe(target))") }
            guard case .dict = nodes[state] else {
                throw PickleFailure("the state of an OrderedDict or defaultdict must be a dict of attributes, found \(describe(state))")
            }
            dicts[d].built = true
        case .leaf(.tensor):
            throw PickleFailure("BUILD applied to a tensor: tensors take no pickled state (only _rebuild_tensor_v2 and _rebuild_parameter build them)")
        default:
            throw PickleFailure("BUILD applied to \(describe(target)), which takes no state")
        }
    }

    /// BINPERSID: `('storage', storage_type, key, location, numel)`, resolved to the archive's `data/<key>`.
    /// A key referenced again must be declared the same way; it then gives the same storage.
    mutating func persistentLoad(_ pid: Int) throws -> Node {
        guard case .tuple(let f) = nodes[pid], f.count == 5, case .leaf(.string("storage")) = nodes[f[0]] else {
            throw PickleFailure("the persistent id is \(describe(pid)), not ('storage', type, key, location, numel)")
        }
        guard case .global(let typeName) = nodes[f[1]] else {
            throw PickleFailure("the storage type is \(describe(f[1])), not a global name")
        }
        guard let dtype = TorchDType.named(typeName) else { throw PickleFailure("storage type \(typeName) is not supported") }
        guard case .leaf(.string(let key)) = nodes[f[2]], case .leaf(.string(let location)) = nodes[f[3]] else {
            throw PickleFailure("the storage key and location must be strings, found \(describe(f[2])) and \(describe(f[3]))")
        }
        guard case .leaf(.int(let count)) = nodes[f[4]], count >= 0 else {
            throw PickleFailure("storage \"\(key)\": the element count is \(describe(f[4])), not a non-negative int")
        }
        if let s = storages[key] {
            guard s.dtype == dtype, s.count == count else {
                throw PickleFailure("storage \"\(key)\" is declared as \(count) elements of \(dtype.rawValue) here, but as \(s.count) of \(s.dtype.rawValue) before")
            }
            return .storage(s)
        }
        let s = try resolve(key, dtype, count, location)
        storages[key] = s
        return .storage(s)
    }
}
