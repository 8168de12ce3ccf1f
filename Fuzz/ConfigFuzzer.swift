// Fuzz target: the bytes are a config.json, parsed and validated by ModelConfig.parse(json:);
// an accepted config has its tensor list and parameter count computed.

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    if let config = try? ModelConfig.parse(json: text) {
        FuzzSupport.consume(config.tensorSpecs)
        FuzzSupport.consume(config.parameterCount)
        FuzzSupport.consume(config.decoderInputSize)
    }
    return 0
}
