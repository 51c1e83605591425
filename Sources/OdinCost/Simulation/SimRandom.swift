#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The simulator's seeded pseudo-random generator: SplitMix64 (Steele, Lea, Flood 2014), written here so a report
/// is reproducible for a seed on every platform. Never `SystemRandomNumberGenerator`.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [low, high].
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { high <= low ? low : low + (high - low) * unit() }

    /// Exponential with `rate` events per unit (infinity when the rate is 0).
    public mutating func exponential(rate: Double) -> Double {
        guard rate > 0 else { return .infinity }
        return -log1p(-unit()) / rate
    }

    /// An independent generator derived from this one and a label (so adding draws in one place does not shift the
    /// draws of another).
    public func derived(_ label: UInt64) -> SimRandom {
        var copy = SimRandom(seed: state ^ (label &* 0xD6E8_FEB8_6659_FD93))
        _ = copy.next()
        return copy
    }
}

