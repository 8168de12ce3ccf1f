/// One input as the search reads it: the source as encoded (cut to `maxInputLength`, `eos` appended when the
/// model says so), the target prefix, the sentence's position in the request, and any warnings.
package struct PreparedInput: Sendable {
    package var source: [Int]
    package var prefix: [Int]
    package var index: Int
    package var warnings: [String]
}

extension Seq2SeqModel {
    /// Checks and prepares inputs for decoding with `options` (already validated): cuts sources longer than
    /// `maxInputLength` (with a warning), validates each source and target prefix (the error names the
    /// sentence), appends `eos` with `source_append_eos`, and fills in positions.
    package func prepare(_ inputs: [TranslationInput], options: DecodingOptions) throws -> [PreparedInput] {
        try inputs.enumerated().map { i, input in
            var source = input.source
            var warnings: [String] = []
            if let m = options.maxInputLength, source.count > m {
                warnings.append("source of \(source.count) tokens cut to its first \(m) (max_input_length)")
                source.removeSubrange(m...)
            }
            do { try validate(source: source) } catch let e as Seq2SeqError {
                throw Seq2SeqError.invalidInput("source \(i): \(e.message)")
            }
            let encoded = encoderInputs([source])[0]
            do {
                try options.validate(prefix: input.targetPrefix, encodedLength: encoded.count, config: config)
            } catch let e as Seq2SeqError {
                throw Seq2SeqError.invalidInput("sentence \(i): \(e.message)")
            }
            return PreparedInput(source: encoded, prefix: input.targetPrefix, index: input.index ?? i, warnings: warnings)
        }
    }
}
