/// SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", OOPSLA 2014): the project's one
/// seeded generator, so simulations and randomized tests reproduce from a printed seed on every platform. Not for
/// anything secret.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state; the next output is a function of it alone.
    package var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 output function (Stafford's "Mix13" variant of the MurmurHash3 finalizer): a bijection that
    /// spreads every input bit over the output.
    @inlinable
    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 bits.
    package mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
