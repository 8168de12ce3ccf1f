#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Fuzz target: the bytes are a model.safetensors file. It is read by SafeTensorsFile and TensorStore
// (every tensor touched), then loaded as a model directory with a fixed valid config.json and
// vocabularies (golden case g08: rnn_tanh, bahdanau, copy bridge); a model that loads translates and scores.

private let modelDirectory: String = {
    let dir = FuzzSupport.scratch + "/model"
    mkdir(dir, 0o755)
    let golden = FuzzSupport.golden("g08_rnn_bahdanau_copy_bad_inputs")
    for name in ["config.json", "source.vocab", "target.vocab"] { FuzzSupport.copy(golden + "/" + name, dir + "/" + name) }
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func safeTensorsFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let dir = modelDirectory
    let path = dir + "/model.safetensors"
    FuzzSupport.write(path, UnsafeRawBufferPointer(start: data, count: size))
    if let file = try? SafeTensorsFile(path: path) {
        let store = TensorStore(file: file)
        var sum: Float = 0
        for t in store.tensors.values {
            for i in 0..<t.count { sum += t[flat: i] }
            FuzzSupport.consume(t.matrix)
        }
        FuzzSupport.consume(sum)
        FuzzSupport.consume(file.metadata)
    }
    var kept: [Tensor] = []  // read after their model is gone: a tensor keeps its memory alive
    for checkFinite in [true, false] {
        guard let model = try? Seq2SeqModel(directory: dir, checkFinite: checkFinite) else { continue }
        kept += model.tensors.values
        let translator = Translator(model: model)
        FuzzSupport.consume(try? translator.translate([[4, 5, 6], [7]], options: DecodingOptions(beamSize: 2, maxLength: 4, returnAttention: true)))
        FuzzSupport.consume(try? translator.score(sources: [[4, 5]], targets: [[6, 7]]))
        FuzzSupport.consume(model.weightBytes)
    }
    FuzzSupport.consume(kept.map { $0.scalars.reduce(0, +) })
    return 0
}
