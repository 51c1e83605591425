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

