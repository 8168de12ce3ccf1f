/// A value read from a pickle by the restricted unpickler: plain data, never a live object.
///
/// Python's containers map to `list`, `tuple`, `dict` (ordered key/value pairs; `collections.OrderedDict` and
/// `collections.defaultdict` too) and `set` (`set` and `frozenset`); PyTorch tensors and parameters to
/// `tensor`. A class or function the reader gives no meaning to stays inert: a bare reference is
/// `global("module.Name")`, an instance is `object(className:args:state:)` with the arguments it would have
/// been built from and the state `BUILD` would have given it (`argparse.Namespace` has its attributes as a
/// dict state). Nothing named in a pickle is ever imported, called or looked up.
///
/// The tree has no cycles, nests at most 200 levels deep and holds at most 10,000,000 values (a container shared
/// through the pickle's memo counts each time it appears).
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    /// An integer that fits in 64 bits (larger ones are refused).
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// Key/value pairs in insertion order; keys are unique.
    case dict([(key: PickleValue, value: PickleValue)])
    /// The items of a `set` or `frozenset`, in pickle order, unique.
    case set([PickleValue])
    case tensor(TorchTensor)
    /// A reference to a class or function by qualified name (`torch.float32`, `torchtext.vocab._default_unk_index`).
    case global(String)
    /// An instance of a class the reader does not interpret: `className` is `module.Name`; `args` what it was
    /// constructed with (`REDUCE`, `NEWOBJ`; keyword arguments of `NEWOBJ_EX` follow as one dict); `state`
    /// what `BUILD` gave it, if anything.
    case object(className: String, args: [PickleValue], state: PickleValue?)

    /// Structural equality (dicts in order; tensors equal when they are the same view of the same storage; floats as
    /// `Double`, so NaN differs from itself).
    public static func == (a: PickleValue, b: PickleValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)), let (.set(x), .set(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.tensor(x), .tensor(y)): return x == y
        case let (.global(x), .global(y)): return x == y
        case let (.object(c1, a1, s1), .object(c2, a2, s2)): return c1 == c2 && a1 == a2 && s1 == s2
        default: return false
        }
    }
}

// MARK: Reading values

extension PickleValue {
    /// The value for string key `key` of a dict, or the attribute `key` of an object whose state is a dict of
    /// attributes (`argparse.Namespace`, most plain Python classes); nil otherwise.
    public subscript(key: String) -> PickleValue? {
        attributes?.first { $0.key == .string(key) }?.value
    }

    /// The pairs of a dict, or the attribute dictionary of an object whose state is a dict (for a
    /// `(dict, slots)` state, the dict); nil for other values.
    public var attributes: [(key: PickleValue, value: PickleValue)]? {
        switch self {
        case .dict(let items): return items
        case .object(_, _, .dict(let items)?): return items
        case .object(_, _, .tuple(let parts)?):
            if parts.count == 2, case .dict(let items) = parts[0] { return items }
            return nil
        default: return nil
        }
    }

    /// The elements of a list or a tuple (or the items of a set).
    public var elements: [PickleValue]? {
        switch self {
        case .list(let xs), .tuple(let xs), .set(let xs): return xs
        default: return nil
        }
    }

    /// The string, when this is one.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The integer, when this is one (a bool is not an int here).
    public var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    /// The boolean, when this is one.
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// The tensor, when this is one.
    public var tensor: TorchTensor? { if case .tensor(let t) = self { return t } else { return nil } }
    /// A float, or an int as a Double.
    public var double: Double? {
        switch self {
        case .float(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    /// Whether this is `none`.
    public var isNone: Bool { if case .none = self { return true } else { return false } }

    /// A short description of the kind of value, for error messages (`a dict`, `an object argparse.Namespace`).
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .list: return "a list"
        case .tuple: return "a tuple"
        case .dict: return "a dict"
        case .set: return "a set"
        case .tensor(let t): return "a \(t.dtype.rawValue) tensor"
        case .global(let name): return "the global \(name)"
        case .object(let name, _, _): return "an object \(name)"
        }
    }
}
