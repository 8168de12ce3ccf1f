// Elementwise kernels over contiguous Float buffers, vectorized with SIMD types where it matters (argmax,
// sampling's exp, tanh in place), scalar libm elsewhere. The vocabulary-wide log-sum-exp, the additive attention
// score and the recurrent cells' gates run in the C kernels (`Kernels.logSumExp`, `Kernels.additiveScore`,
// `Kernels.cellUpdate`) with the same lanes of `fastExp` / `fastTanh`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Index of the largest of `x[0..<n]`, the lowest index on ties; `skip` (if ≥ 0) is never chosen.
///
/// Two vectorized passes (the maximum, then its first index) when the row holds no NaN and nothing is skipped;
/// otherwise the scalar scan, whose answer it equals: a NaN is never larger than anything, and one at the first
/// index is kept (`argmaxScan`).
@inline(__always)
func argmax(_ x: UnsafePointer<Float>, _ n: Int, skip: Int = -1) -> Int {
    guard skip < 0 && n >= 8 else { return argmaxScan(x, n, skip: skip) }
    var m8 = SIMD8<Float>(repeating: -.infinity)
    var nan = SIMDMask<SIMD8<Int32>>(repeating: false)
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        m8.replace(with: v, where: v .> m8)
        nan .|= v .!= v
        i += 8
    }
    var m = m8.max()
    while i < n {
        if x[i].isNaN { return argmaxScan(x, n, skip: skip) }
        m = max(m, x[i])
        i += 1
    }
    if any(nan) { return argmaxScan(x, n, skip: skip) }
    if m == -.infinity { return 0 }
    let target = SIMD8<Float>(repeating: m)
    i = 0
    while i + 8 <= n {
        if any(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) .== target) { break }
        i += 8
    }
    while x[i] != m { i += 1 }
    return i
}

/// `argmax` as a plain scan: the first index that is not `skip`, then each strictly larger value.
@inline(__always)
func argmaxScan(_ x: UnsafePointer<Float>, _ n: Int, skip: Int = -1) -> Int {
    var best = -1
    var bestValue = -Float.infinity
    for i in 0..<n where i != skip {
        let v = x[i]
        if best < 0 || v > bestValue { best = i; bestValue = v }
    }
    return best
}

/// In-place softmax of `x[0..<n]` (max-subtracted).
@inline(__always)
func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    var m = -Float.infinity
    for i in 0..<n { m = max(m, x[i]) }
    var s: Float = 0
    for i in 0..<n {
        let e = expf(x[i] - m)
        x[i] = e
        s += e
    }
    let inv = 1 / s
    for i in 0..<n { x[i] *= inv }
}

/// `e^x` for 8 lanes: Cody-Waite range reduction and a degree-6 polynomial,
/// relative error about 2e-7 for x in [-87, 88]; underflows to 0 below.
@inline(__always)
func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.3)
    let clamped = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    // n = round(x / ln 2) by the 1.5·2^23 trick: adding it leaves n in the low mantissa bits.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    var r = clamped - n * 0.693_359_375   // ln2, high part (exact in n · C)
    r = r + n * 2.121_944_4e-4            // ln2, low part
    // e^r on [-ln2/2, ln2/2]
    var p = SIMD8<Float>(repeating: 1.987_569_1e-4)
    p = p * r + 1.398_199_9e-3
    p = p * r + 8.333_452e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 1.666_666_5e-1
    p = p * r + 5.000_000_1e-1
    p = p * r * r + r + 1
    let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
    return (p * scale).replacing(with: 0, where: x .< lo)
}

/// `tanh(x)` for 8 lanes: Eigen's rational approximation (an odd degree-13 numerator over an even degree-6
/// denominator, on `x` clamped to ±7.9053, where it reaches 1), and `x` itself below |x| < 4e-4. Within 6 ulp
/// of tanh everywhere, small arguments included: `1 − 2 / (e^{2x} + 1)`, used before, lost all relative
/// precision near 0 (cancellation), an error a tanh RNN's state carries into every later step.
@inline(__always)
func fastTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let c = SIMD8<Float>(repeating: 7.905_311_107_635_498)
    let xc = x.replacing(with: -c, where: x .< -c).replacing(with: c, where: x .> c)  // NaN stays NaN
    let x2 = xc * xc
    var p = SIMD8<Float>(repeating: -2.760_768_477_423_55e-16)
    p = p * x2 + 2.000_187_904_824_77e-13
    p = p * x2 - 8.604_671_522_137_35e-11
    p = p * x2 + 5.122_297_090_371_14e-8
    p = p * x2 + 1.485_722_357_179_79e-5
    p = p * x2 + 6.372_619_288_754_36e-4
    p = p * x2 + 4.893_524_558_917_86e-3
    p = p * xc
    var q = SIMD8<Float>(repeating: 1.198_258_394_667_02e-6)
    q = q * x2 + 1.185_347_056_866_54e-4
    q = q * x2 + 2.268_434_632_439_00e-3
    q = q * x2 + 4.893_525_185_543_85e-3
    return (p / q).replacing(with: x, where: (x .> -4e-4) .& (x .< 4e-4))
}

/// `x[i] = tanh(x[i])` for `n` values.
@inline(__always)
func tanhInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        UnsafeMutableRawPointer(x + i).storeBytes(of: fastTanh(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)),
                                                  as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { x[i] = tanhf(x[i]); i += 1 }
}
