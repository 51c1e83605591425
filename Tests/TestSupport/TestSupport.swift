import Foundation

/// Paths and environment shared by the test targets.
public enum TestEnvironment {
    /// The folder holding the built products (`.build/<triple>/debug`): the test bundle's own folder.
    public static var productsDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return (exe as NSString).deletingLastPathComponent
    }

    /// The path of a built executable product, e.g. `binary("echo")`.
    public static func binary(_ name: String) -> String {
        (productsDirectory as NSString).appendingPathComponent(name)
    }

    /// The package root (where Package.swift is).
    public static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// True when a missing peer must fail rather than skip (`ODIN_REQUIRE_PEERS=1` or `CI=true`).
    @available(*, deprecated, message: "declare the peer with the .requires(_:) trait (Tests/TestSupport/Peer.swift)")
    public static var isCI: Bool { Peer.areRequired }

    /// A fresh temporary folder, unique to the caller.
    public static func makeTemporaryDirectory(_ label: String = "test") throws -> String {
        let path = NSTemporaryDirectory() + "odin-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A seeded generator (SplitMix64): reproducible random test data. (OdinTests and FunctionTests still carry
/// their own copies of the same generator.)
public struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
