import Foundation
import TestSupport

/// Helpers for the infra tests: the repository root, temporary directories, running tools.
enum Repo {
    /// The package root (two levels above this file's directory).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The project venv's Python (scripts/venv.sh creates it; make test runs that first). Suites that run it
    /// declare `.requires(.venv)`.
    static var python: String { Peers.python ?? path(".venv/bin/python") }
}

struct ToolResult {
    let status: Int32
    let output: String
}

/// Runs `executable` with `arguments` (stdout and stderr merged) and waits for it.
func runTool(_ executable: String, _ arguments: [String], in directory: String = Repo.root.path,
             environment: [String: String]? = nil) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// A fresh directory under the system temp dir, removed after `body`.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("infra-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}
