import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The sibling executables the local mode runs (`munin-worker`, `hugin`, `ffmpeg`) and a blocking process runner.
enum Tools {
    /// The folder holding this `odin` binary (the SwiftPM build folder, or wherever it was installed).
    static var ownDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }

    static var ownPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// `name` next to this binary, else on PATH; throws naming the product to build.
    static func locate(_ name: String, binDir: String? = nil) throws -> String {
        var candidates = [binDir, ownDirectory].compactMap { $0 }.map { ($0 as NSString).appendingPathComponent(name) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            candidates.append("\(dir)/\(name)")
        }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw CLIError("cannot find the `\(name)` executable next to odin (\(ownDirectory)) or on PATH; "
                       + "build it with `swift build --product \(name)` (or `make demo`), or pass --bin-dir")
    }

    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs a process to completion, capturing stdout+stderr.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    check: Bool = true) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw CLIError("cannot start \(executable): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        if check && process.terminationStatus != 0 {
            throw CLIError("\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) "
                           + "exited \(process.terminationStatus): \(output.suffix(2000))")
        }
        return Result(status: process.terminationStatus, output: output)
    }
}
