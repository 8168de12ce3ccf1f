// The scalar functions of the C math library the reference uses, in Double. The other files see only
// these, so there is one place that knows the platform.

#if canImport(Glibc)
import Glibc
/// `e^x`.
func exp(_ x: Double) -> Double { Glibc.exp(x) }
/// `ln x`.
func log(_ x: Double) -> Double { Glibc.log(x) }
/// `x^y`.
func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
/// `tanh x` (the elementwise `tanh` of a vector is in Parameters.swift).
func scalarTanh(_ x: Double) -> Double { Glibc.tanh(x) }
#elseif canImport(Darwin)
import Darwin
func exp(_ x: Double) -> Double { Darwin.exp(x) }
func log(_ x: Double) -> Double { Darwin.log(x) }
func pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
func scalarTanh(_ x: Double) -> Double { Darwin.tanh(x) }
#else
#error("the reference needs the C math library (Glibc or Darwin)")
#endif
