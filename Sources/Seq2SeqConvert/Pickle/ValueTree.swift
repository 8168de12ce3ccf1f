/// Converts the unpickler's arena to a `PickleValue` tree, refusing what a tree cannot be.
///
/// Each node is converted once (a container the memo shares appears in several places as one shared value,
/// which costs no copy); a node met again while it is being converted is a cycle. Depth is checked on the way
/// down (so the recursion is bounded by `Unpickler.maxDepth`) and the size of the tree, in which a shared
/// container counts each time it appears, is added up on the way back, so that a pickle cannot describe an
/// exponentially large tree in a few bytes.
struct ValueTree {
    private let u: Unpickler
    private var done: [PickleValue?]
    /// The number of values in each converted node's tree (itself included).
    private var sizes: [Int]
    private var active: [Bool]

    init(_ unpickler: Unpickler) {
        u = unpickler
        done = Array(repeating: nil, count: unpickler.nodes.count)
        sizes = Array(repeating: 0, count: unpickler.nodes.count)
        active = Array(repeating: false, count: unpickler.nodes.count)
    }

    mutating func value(of root: Int) throws -> PickleValue {
        let (v, _) = try convert(root, depth: 0)
        return v
    }

    private func made(_ n: Int) -> String { "\(u.describe(n)) made at offset \(u.nodeOffsets[n])" }

    private mutating func convert(_ n: Int, depth: Int) throws -> (PickleValue, Int) {
        if let v = done[n] { return (v, sizes[n]) }
        guard !active[n] else {
            throw PickleFailure("\(made(n)) contains itself (a cycle through the memo), which a value tree cannot hold")
        }
        guard depth < Unpickler.maxDepth else {
            throw PickleFailure("values nest deeper than \(Unpickler.maxDepth) levels (at \(made(n)))")
        }
        active[n] = true
        var size = 1
        func add(_ s: Int) throws {
            size += s
            guard size <= Unpickler.maxElements else {
                throw PickleFailure("more than \(Unpickler.maxElements) values in the tree (shared containers count each time they appear), at \(made(n))")
            }
        }
        func children(_ items: [Int]) throws -> [PickleValue] {
            var out: [PickleValue] = []
            out.reserveCapacity(items.count)
            for i in items {
                let (v, s) = try convert(i, depth: depth + 1)
                try add(s)
                out.append(v)
            }
            return out
        }
        let value: PickleValue
        switch u.nodes[n] {
        case .leaf(let v): value = v
        case .global(let name): value = .global(name)
        case .list(let l): value = .list(try children(u.lists[l]))
        case .tuple(let items): value = .tuple(try children(items))
        case .set(let s): value = .set(try children(u.sets[s].items))
        case .dict(let d):
            let keys = try children(u.dicts[d].keys), values = try children(u.dicts[d].values)
            value = .dict(Array(zip(keys, values).map { (key: $0, value: $1) }))
        case .object(let o):
            let ob = u.objects[o]
            let args = try children(ob.args)
            var state: PickleValue?
            if let s = ob.state { state = try children([s])[0] }
            value = .object(className: ob.className, args: args, state: state)
        case .storage(let s):
            throw PickleFailure("storage \"\(s.key)\" (a persistent id made at offset \(u.nodeOffsets[n])) is used outside a tensor")
        }
        active[n] = false
        done[n] = value
        sizes[n] = size
        return (value, size)
    }
}
