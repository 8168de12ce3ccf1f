import Seq2Seq

/// A checkpoint written by `torch.save` (PyTorch 1.6 or later: a zip archive), read without PyTorch and
/// without executing anything from it.
///
/// ```swift
/// let checkpoint = try TorchCheckpoint(path: "model.pt")
/// for (name, tensor) in try checkpoint.stateDict(at: ["model"]) {
///     print(name, tensor.dtype, tensor.shape, try tensor.floats().count)
/// }
/// let opt = try checkpoint.value(at: ["opt"])          // argparse.Namespace: an object with a dict state
/// let layers = opt["layers"]?.int
/// ```
///
/// The file is mapped read-only; `data.pkl` is interpreted by a restricted unpickler (`PickleValue` says what
/// it makes of Python objects) and each storage a tensor names must be the archive's `data/<key>` record with
/// exactly the byte size its declared element count needs. Tensors read their elements from the mapping, which
/// lives as long as any tensor or this checkpoint does. Every problem is a `Seq2SeqError.invalidModel` whose
/// message names the file, then the record, opcode and offset, or the key path.
///
/// Refused: the legacy format of PyTorch before 1.6 (a bare pickle; re-save it with a current PyTorch),
/// TorchScript archives, compressed or encrypted entries, and a `byteorder` other than `little`.
public final class TorchCheckpoint: Sendable {
    /// The file, as given.
    public let path: String
    /// The unpickled `data.pkl`: for a training checkpoint usually a dict of state dicts and options.
    public let root: PickleValue
    /// The archive's top-level directory (`torch.save` uses the file's stem, or `archive`).
    public let archiveName: String

    /// Reads the checkpoint at `path`. With `verifyChecksums` (the default), the CRC-32 of every record is
    /// checked, which reads the whole file once; `false` checks only `data.pkl` and keeps large tensors unread
    /// until they are used.
    public init(path: String, verifyChecksums: Bool = true) throws {
        self.path = path
        let file = try MappedFile(path: path)
        try Self.refuseLegacy(file)
        let archive = try ZipArchive(file: file)
        guard let first = archive.entries.first, let slash = first.name.firstIndex(of: "/") else {
            throw Seq2SeqError.invalidModel("\(path): the zip archive has no top-level directory, so it was not written by torch.save")
        }
        let prefix = String(first.name[..<slash])
        archiveName = prefix
        guard let pickle = archive.entry("\(prefix)/data.pkl") else {
            let torchScript = archive.entry("\(prefix)/constants.pkl") != nil
            throw Seq2SeqError.invalidModel("\(path): no \(prefix)/data.pkl record: " +
                (torchScript ? "this is a TorchScript archive (torch.jit.save); save the model's state_dict with torch.save instead"
                             : "not a checkpoint written by torch.save"))
        }
        if let order = archive.entry("\(prefix)/byteorder") {
            let text = String(decoding: archive.bytes(of: order), as: UTF8.self)
            guard text == "little" else {
                throw Seq2SeqError.invalidModel("\(path): \(order.name) says \"\(text.prefix(20))\"; only little-endian checkpoints are supported")
            }
        }
        for entry in verifyChecksums ? archive.entries : [pickle] { try archive.verifyChecksum(of: entry) }
        root = try Unpickler.load(archive.bytes(of: pickle), context: "\(path): \(pickle.name)",
                                  resolve: Self.storages(in: archive, prefix: prefix))
    }

    /// Resolves persistent ids to the records `<prefix>/data/<key>` of `archive`, which must hold exactly the
    /// declared number of elements.
    static func storages(in archive: ZipArchive, prefix: String) -> StorageResolver {
        { key, dtype, count, location in
            let name = "\(prefix)/data/\(key)"
            guard let record = archive.entry(name) else {
                throw PickleFailure("storage \"\(key)\" has no record \(name) in the archive")
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytes == record.dataRange.count else {
                throw PickleFailure("storage \"\(key)\" is declared as \(count) elements of \(dtype.rawValue) (\(overflow ? "overflowing" : "\(bytes)") bytes), but its record \(name) holds \(record.dataRange.count) bytes")
            }
            return TorchStorage(key: key, dtype: dtype, count: count, location: location, bytes: archive.bytes(of: record), owner: archive.file)
        }
    }

    /// A file that starts with a pickle's PROTO opcode is PyTorch's legacy format (before 1.6).
    private static func refuseLegacy(_ file: MappedFile) throws {
        let b = file.bytes(0..<min(file.size, 2))
        if b.count == 2, b[0] == 0x80, b[1] <= 5 {
            throw Seq2SeqError.invalidModel(
                "\(file.path) is a legacy PyTorch checkpoint (the format before PyTorch 1.6: a pickle, not a zip archive), which is not supported: re-save it with a current PyTorch, e.g. torch.save(torch.load(path, weights_only=True), new_path)")
        }
    }

    /// The value reached from `root` through `keys`: dict keys, or attribute names of objects whose state is a
    /// dict (`argparse.Namespace`). `[]` is the root. Throws naming the first key that is missing.
    public func value(at keys: [String]) throws -> PickleValue {
        var v = root
        for (k, key) in keys.enumerated() {
            guard let next = v[key] else {
                let at = keys[..<k].isEmpty ? "the root" : keys[..<k].joined(separator: ".")
                let available = v.attributes.map { items in
                    items.prefix(20).map { $0.key.string.map { "\"\($0)\"" } ?? $0.key.kindName }.joined(separator: ", ")
                }
                throw Seq2SeqError.invalidModel("\(path): \(at) (\(v.kindName)) has no key \"\(key)\"" + (available.map { "; it has \($0)" } ?? ""))
            }
            v = next
        }
        return v
    }

    /// The tensors of the state dict at `keys` (a dict or OrderedDict from string names to tensors, as
    /// `module.state_dict()` makes), in order. Throws naming the entry when a key is not a string or a value
    /// is not a tensor.
    public func stateDict(at keys: [String] = []) throws -> [(name: String, tensor: TorchTensor)] {
        let v = try value(at: keys)
        let at = keys.isEmpty ? "the root" : keys.joined(separator: ".")
        guard case .dict(let items) = v else {
            throw Seq2SeqError.invalidModel("\(path): \(at) is \(v.kindName), not a state dict")
        }
        return try items.map { item in
            guard case .string(let name) = item.key else {
                throw Seq2SeqError.invalidModel("\(path): \(at) has a key that is \(item.key.kindName), not a tensor name")
            }
            guard case .tensor(let t) = item.value else {
                throw Seq2SeqError.invalidModel("\(path): \(at).\(name) is \(item.value.kindName), not a tensor")
            }
            return (name, t)
        }
    }
}
