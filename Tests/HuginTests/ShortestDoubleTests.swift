import OdinBasics
import Testing

@testable import Hugin

/// `FileSink.append(shortest:)` writes exactly what `"\(value)"` writes (compressed_observations.json's numbers).
@Suite struct ShortestDoubleTests {
    static func written(_ value: Double) -> String {
        let sink = FileSink()
        sink.append(shortest: value)
        return String(decoding: sink.buffer, as: UTF8.self)
    }

    @Test func edgeValuesMatchDescription() {
        let values: [Double] = [
            0, -0.0, 1, -1, 0.5, 0.1, 0.2, 0.3, 0.7, 0.523, 0.9999, 1e-3, 0.00099, 1e-4, 1e-5, 123.0, 1.5, 29.97,
            1e14, 1e15 - 1, 1e15, 1e16, 9_007_199_254_740_992, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, .pi, -.pi, 1e-300,
            .infinity, -.infinity, .nan, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 600, 3599.999,
            12_345.678_901_234_5, 0.000_123_4,
        ]
        for v in values { #expect(Self.written(v) == "\(v)", "\(v)") }
    }

    @Test func randomValuesMatchDescription() {
        var random = SplitMix64(seed: 7)
        for k in 0..<200_000 {
            let v: Double
            switch k % 4 {
            case 0: v = Double(random.next() % 1_000_000) / [1.0, 10, 100, 1000, 1e4, 1e5, 1e6][k % 7]
            case 1: v = random.unit()
            case 2: v = (random.unit() - 0.5) * 1e6
            default: v = Double(bitPattern: random.next())
            }
            // NaN payloads are left out: never a Stage 3 number, and passing a signalling NaN may quieten it.
            guard !v.isNaN else { continue }
            #expect(Self.written(v) == "\(v)", "\(v)")
            if Self.written(v) != "\(v)" { return }
        }
    }
}
