import Seq2Seq

/// A toolkit's state dict as converters read it: tensors by the toolkit's names, each taken at most once, so
/// that a converter can refuse a checkpoint holding tensors it did not understand (a feature it does not
/// support) instead of silently dropping them.
struct ToolkitWeights {
    let origin: String
    private var tensors: [String: TorchTensor] = [:]
    private var order: [String] = []
    private var taken = Set<String>()

    /// `origin` names the file (and entry) in error messages. Throws when a name comes twice: `torch.save`
    /// never writes that, and Python would keep the last where a first-wins reading would keep the first.
    init(_ entries: [(name: String, tensor: TorchTensor)], origin: String) throws {
        self.origin = origin
        for (name, t) in entries {
            guard tensors[name] == nil else {
                throw Seq2SeqError.invalidModel("\(origin): the state dict names tensor \(name) twice")
            }
            tensors[name] = t
            order.append(name)
        }
    }

    /// Whether the state dict holds `name`.
    func has(_ name: String) -> Bool { tensors[name] != nil }

    /// The names, in the checkpoint's order.
    var names: [String] { order }

    /// The tensor `name` as float32 values, checked against `shape` (any size where an entry is nil).
    mutating func take(_ name: String, shape: [Int?]) throws -> DenseTensor {
        guard let t = tensors[name] else {
            throw Seq2SeqError.invalidModel("\(origin): tensor \(name) is missing")
        }
        try requireWeight(name, t)
        guard t.shape.count == shape.count,
              zip(t.shape, shape).allSatisfy({ actual, expected in expected.map { $0 == actual } ?? true }) else {
            let want = shape.map { $0.map(String.init) ?? "*" }.joined(separator: ", ")
            throw Seq2SeqError.invalidModel("\(origin): tensor \(name) has shape \(t.shape), expected (\(want))")
        }
        guard t.dtype.isFloatingPoint else {
            throw Seq2SeqError.invalidModel("\(origin): tensor \(name) is \(t.dtype.rawValue), expected floating point")
        }
        taken.insert(name)
        return DenseTensor(shape: t.shape, values: try t.floats())
    }

    /// `take` when present, nil when absent (a bias the layer was built without).
    mutating func takeIfPresent(_ name: String, shape: [Int?]) throws -> DenseTensor? {
        has(name) ? try take(name, shape: shape) : nil
    }

    /// Marks `name` as understood without reading it (a tied duplicate).
    mutating func skip(_ name: String) { if has(name) { taken.insert(name) } }

    /// The shape of `name`, or nil when absent; throws when no weight can have it (see `requireWeight`), since
    /// converters derive layer sizes from it.
    func shape(_ name: String) throws -> [Int]? {
        guard let t = tensors[name] else { return nil }
        try requireWeight(name, t)
        return t.shape
    }

    /// Refuses a tensor that no trained weight is. One with no elements: a zero dimension lets the others be
    /// anything (a view of shape (0, 2⁶²) fits any storage), and sizes derived from them (`4·H`, `E + H`)
    /// would overflow. A broadcast view (stride 0) with more elements than its storage holds: it reads
    /// as that many floats, so a few bytes of pickle could ask for any amount of memory. With both refused,
    /// every dimension is at most its storage's element count, which the file's size bounds.
    private func requireWeight(_ name: String, _ t: TorchTensor) throws {
        guard t.count > 0 else {
            throw Seq2SeqError.invalidModel("\(origin): tensor \(name) has shape \(t.shape), which holds no elements")
        }
        guard t.count <= t.storage.count else {
            throw Seq2SeqError.invalidModel("\(origin): tensor \(name) of shape \(t.shape) (strides \(t.strides)) has \(t.count) elements but its storage \"\(t.storage.key)\" holds \(t.storage.count): a broadcast view is not a trained weight")
        }
    }

    /// Whether `a` and `b` are the same tensor (shared storage, same view): tied weights.
    func areTied(_ a: String, _ b: String) -> Bool {
        guard let x = tensors[a], let y = tensors[b] else { return false }
        return x == y
    }

    /// Throws naming the first tensor nobody took, with `hint` for what it usually means.
    func requireAllTaken(hint: (String) -> String?) throws {
        for name in order where !taken.contains(name) {
            let why = hint(name).map { ": \($0)" } ?? ""
            throw Seq2SeqError.invalidModel("\(origin): tensor \(name) is not understood by the converter\(why)")
        }
    }
}
