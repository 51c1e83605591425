#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OdinBasics

/// The simulator's seeded pseudo-random generator: the shared SplitMix64, so a report is reproducible for a seed on
/// every platform. Never `SystemRandomNumberGenerator`.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { generator.unit() }

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
        var copy = SimRandom(seed: generator.state ^ (label &* 0xD6E8_FEB8_6659_FD93))
        _ = copy.next()
        return copy
    }
}

