/// What REDUCE and NEWOBJ make of the names the reader knows. Every other name makes an inert
/// `PickleValue.object` holding the arguments: nothing is ever called.
///
/// | name | REDUCE arguments | result |
/// |---|---|---|
/// | `torch._utils._rebuild_tensor_v2` | storage, offset, size, stride, requires_grad, hooks[, metadata] | tensor |
/// | `torch._utils._rebuild_tensor` | storage, offset, size, stride | tensor |
/// | `torch._utils._rebuild_parameter` | tensor, requires_grad, hooks | the tensor |
/// | `torch._utils._rebuild_parameter_with_state` | tensor, requires_grad, hooks, state | the tensor |
/// | `torch._tensor._rebuild_from_type_v2` | one of the two tensor rebuilders, type, its arguments, state | tensor |
/// | `collections.OrderedDict` | none, or a list of pairs | dict |
/// | `collections.defaultdict` | none or a factory | dict (the factory is not kept) |
/// | `builtins.set`, `builtins.frozenset` | none or a list, tuple or set | set |
/// | `builtins.bytes` | none | empty bytes |
/// | `_codecs.encode` | string, `"latin1"` (how protocol 2 writes bytes) | bytes |
/// | `builtins.bytearray` | none, bytes, or string and `"latin-1"` | bytes |
/// | `torch.Size` | a tuple or list | tuple |
/// | `copyreg._reconstructor` | class, `builtins.object`, None | inert object of the class |
/// | `copyreg.__newobj__` | class, arguments... | as NEWOBJ |
///
/// NEWOBJ of `collections.OrderedDict`, `defaultdict`, `builtins.dict` makes a dict, of `builtins.list` a list,
/// of `builtins.set`/`frozenset` a set; of any other class an inert object.
extension Unpickler {
    mutating func reduce(_ callable: Int, _ argsNode: Int) throws -> Node {
        guard case .global(let name) = nodes[callable] else {
            throw PickleFailure("REDUCE calls \(describe(callable)), which is not a global name")
        }
        guard case .tuple(let args) = nodes[argsNode] else {
            throw PickleFailure("the arguments of \(name) are \(describe(argsNode)), not a tuple")
        }
        switch name {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return try rebuildTensor(name, args)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard args.count == (name.hasSuffix("state") ? 4 : 3), case .leaf(.tensor) = nodes[args[0]] else {
                throw PickleFailure("\(name) needs (tensor, requires_grad, hooks\(name.hasSuffix("state") ? ", state" : "")), found \(args.count) arguments starting with \(args.first.map(describe) ?? "nothing")")
            }
            return nodes[args[0]]
        case "torch._tensor._rebuild_from_type_v2":
            // (func, type, args, state): the tensor subclass and its Python state are not kept.
            guard args.count == 4, case .global(let f) = nodes[args[0]], f.hasPrefix("torch._utils._rebuild_tensor"),
                  case .tuple(let inner) = nodes[args[2]] else { break }
            return try rebuildTensor(f, inner)
        case "collections.OrderedDict":
            let d = newDict(.ordered)
            if args.count == 1 { try setPairs(args[0], into: d, of: name) } else if !args.isEmpty { break }
            return .dict(d)
        case "collections.defaultdict":
            guard args.count <= 1 else { break }
            return .dict(newDict(.defaultFactory))
        case "builtins.set", "builtins.frozenset":
            guard args.count <= 1 else { break }
            let s = newSet(frozen: name == "builtins.frozenset")
            if let a = args.first {
                let items: [Int]
                switch nodes[a] {
                case .list(let l): items = lists[l]
                case .tuple(let t): items = t
                case .set(let other): items = sets[other].items
                default: throw PickleFailure("\(name) needs a list, tuple or set, found \(describe(a))")
                }
                for i in items { try insert(i, intoSet: s) }
            }
            return .set(s)
        case "builtins.bytes" where args.isEmpty, "builtins.bytearray" where args.isEmpty:
            return .leaf(.bytes([]))
        case "builtins.bytearray" where args.count == 1:
            if case .leaf(.bytes(let b)) = nodes[args[0]] { return .leaf(.bytes(b)) }
        case "_codecs.encode" where args.count == 2, "builtins.bytearray" where args.count == 2:
            if case .leaf(.string(let s)) = nodes[args[0]], case .leaf(.string(let encoding)) = nodes[args[1]] {
                return .leaf(.bytes(try encode(s, encoding)))
            }
        case "torch.Size" where args.count == 1:
            if case .tuple(let t) = nodes[args[0]] { return .tuple(t) }
            if case .list(let l) = nodes[args[0]] { return .tuple(lists[l]) }
        case "copyreg._reconstructor" where args.count == 3:
            if case .global(let cls) = nodes[args[0]], case .global("builtins.object") = nodes[args[1]], case .leaf(.none) = nodes[args[2]] {
                return newObject(named: cls, args: [])
            }
        case "copyreg.__newobj__" where !args.isEmpty:
            if case .global(let cls) = nodes[args[0]] { return namedNewObject(cls, args: Array(args.dropFirst())) }
        default:
            break
        }
        return newObject(named: name, args: args)
    }

    /// NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`, made inert unless `cls` is a container.
    mutating func newObject(_ cls: Int, args argsNode: Int, kwargs: Int?) throws -> Node {
        guard case .global(let name) = nodes[cls] else {
            throw PickleFailure("NEWOBJ of \(describe(cls)), which is not a global name")
        }
        guard case .tuple(var args) = nodes[argsNode] else {
            throw PickleFailure("the arguments of \(name) are \(describe(argsNode)), not a tuple")
        }
        if let k = kwargs {
            guard case .dict(let d) = nodes[k] else { throw PickleFailure("the keyword arguments of \(name) are \(describe(k)), not a dict") }
            if !dicts[d].keys.isEmpty { args.append(k) }
        }
        return namedNewObject(name, args: args)
    }

    mutating func namedNewObject(_ name: String, args: [Int]) -> Node {
        switch name {
        case "collections.OrderedDict": return .dict(newDict(.ordered))
        case "collections.defaultdict": return .dict(newDict(.defaultFactory))
        case "builtins.dict": return .dict(newDict(.plain))
        case "builtins.list": return .list(newList([]))
        case "builtins.set": return .set(newSet(frozen: false))
        default: return newObject(named: name, args: args)
        }
    }

    mutating func newObject(named name: String, args: [Int]) -> Node {
        objects.append(ObjectBuilder(className: name, args: args, state: nil))
        return .object(objects.count - 1)
    }

    /// The pairs of `OrderedDict([[k, v], ...])` (Python 2's OrderedDict pickles).
    mutating func setPairs(_ pairs: Int, into d: Int, of name: String) throws {
        let items: [Int]
        switch nodes[pairs] {
        case .list(let l): items = lists[l]
        case .tuple(let t): items = t
        default: throw PickleFailure("\(name) needs a list of pairs, found \(describe(pairs))")
        }
        for p in items {
            switch nodes[p] {
            case .tuple(let kv) where kv.count == 2: try setItems(kv, into: d)
            case .list(let l) where lists[l].count == 2: try setItems(lists[l], into: d)
            default: throw PickleFailure("\(name) needs pairs, found \(describe(p))")
            }
        }
    }

    /// Bytes written by protocol 2 as `_codecs.encode(text, "latin1")`.
    func encode(_ s: String, _ encoding: String) throws -> [UInt8] {
        switch encoding.lowercased() {
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1":
            return try s.unicodeScalars.map { u in
                guard u.value <= 0xFF else { throw PickleFailure("character U+\(String(u.value, radix: 16, uppercase: true)) cannot be encoded as latin-1") }
                return UInt8(u.value)
            }
        case "utf-8", "utf8":
            return Array(s.utf8)
        default:
            throw PickleFailure("encoding \"\(encoding)\" is not supported (latin-1 and utf-8 are)")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
    /// or `_rebuild_tensor(storage, storage_offset, size, stride)`: a view checked against its storage.
    func rebuildTensor(_ name: String, _ args: [Int]) throws -> Node {
        let range = name.hasSuffix("_v2") ? 6...7 : 4...4
        guard range.contains(args.count) else {
            throw PickleFailure("\(name) needs \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) or \(range.upperBound)") arguments, found \(args.count)")
        }
        guard case .storage(let storage) = nodes[args[0]] else {
            throw PickleFailure("\(name): the storage is \(describe(args[0])), not a persistent storage")
        }
        guard case .leaf(.int(let offset)) = nodes[args[1]] else {
            throw PickleFailure("\(name): the storage offset is \(describe(args[1])), not an int")
        }
        let shape = try ints(args[2], "size", of: name), strides = try ints(args[3], "stride", of: name)
        do {
            return .leaf(.tensor(try TorchTensor(storage: storage, shape: shape, strides: strides, storageOffset: offset)))
        } catch {  // a TensorViewError (typed throws)
            throw PickleFailure("\(name): \(error.message)")
        }
    }

    func ints(_ n: Int, _ what: String, of name: String) throws -> [Int] {
        let items: [Int]
        switch nodes[n] {
        case .tuple(let t): items = t
        case .list(let l): items = lists[l]
        default: throw PickleFailure("\(name): the \(what) is \(describe(n)), not a tuple of ints")
        }
        return try items.map {
            guard case .leaf(.int(let i)) = nodes[$0] else { throw PickleFailure("\(name): the \(what) holds \(describe($0)), not an int") }
            return i
        }
    }
}
