/// Working memory for one batch, handed out in 64-byte aligned pieces.
///
/// Every buffer a batch needs is taken from the arena before the step loop
/// starts; `reset()` recycles the memory for the next batch. After the first
/// batch of a given size, a translator allocates nothing at all.
final class Arena {
    private var block: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    /// Extra blocks taken when a batch needed more than `capacity`; merged at the next reset.
    private var overflow: [UnsafeMutableRawPointer] = []
    private var overflowBytes = 0
    private static let alignment = 64

    init(bytes: Int = 1 << 20) {
        capacity = bytes
        block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment)
    }

    deinit {
        block.deallocate()
        for b in overflow { b.deallocate() }
    }

    /// Bytes the arena holds.
    var reservedBytes: Int { capacity + overflowBytes }

    /// Frees everything handed out; if the last batch overflowed, grows to fit it in one block.
    func reset() {
        if !overflow.isEmpty {
            for b in overflow { b.deallocate() }
            overflow.removeAll(keepingCapacity: true)
            let needed = capacity + overflowBytes
            block.deallocate()
            capacity = needed + needed / 4
            block = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment)
            overflowBytes = 0
        }
        used = 0
    }

    private func raw(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = (max(bytes, 1) + Self.alignment - 1) / Self.alignment * Self.alignment
        if used + size <= capacity {
            defer { used += size }
            return block + used
        }
        let b = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment)
        overflow.append(b)
        overflowBytes += size
        return b
    }

    /// `count` floats, zero-filled.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = raw(count * MemoryLayout<Float>.stride).bindMemory(to: Float.self, capacity: count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// A zero-filled `(rows, cols)` matrix.
    func matrix(_ rows: Int, _ cols: Int) -> MatrixView {
        MatrixView(floats(rows * cols), rows: rows, cols: cols)
    }

    /// `count` values of `T`, filled with `value`.
    func array<T>(_ count: Int, of value: T) -> UnsafeMutablePointer<T> {
        let p = raw(count * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: count)
        p.initialize(repeating: value, count: count)
        return p
    }
}
