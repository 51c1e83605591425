import Foundation
import OdinBasics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The sibling executables the local mode runs (`munin-worker`, `hugin`, `ffmpeg`) and a blocking process runner.
package enum Tools {
    /// The folder holding this `odin` binary (the SwiftPM build folder, or wherever it was installed).
    package static var ownDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }

    package static var ownPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// `name` next to this binary, else on PATH; throws naming the product to build.
    package static func locate(_ name: String, binDir: String? = nil) throws -> String {
        var candidates = [binDir, ownDirectory].compactMap { $0 }.map { ($0 as NSString).appendingPathComponent(name) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            candidates.append("\(dir)/\(name)")
        }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw CLIError("cannot find the `\(name)` executable next to odin (\(ownDirectory)) or on PATH; "
                       + "build it with `swift build --product \(name)` (or `make demo`), or pass --bin-dir")
    }

    package struct Result {
        package var status: Int32
        package var output: String
    }

    /// Runs a process to completion, capturing stdout+stderr.
    @discardableResult
    package static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
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

/// Ctrl-C / SIGTERM during a local run: stop the worker processes this `odin` started (they are its children) and
/// exit 130, leaving the run's state as it was, so `odin resume RUN --local` finishes it later.
package enum InterruptHandler {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    private static let interrupted = Atomic<Bool>(false)

    /// Called where the run would report its outcome: after an interruption the handler exits 130 (its workers
    /// killed, their events dropped), so the rest of the run is not reported as finished (exit 0) meanwhile.
    package static func holdIfInterrupted() {
        while interrupted.load(ordering: .sequentiallyConsistent) { sleep(1) }
    }

    /// - Parameter stopLaunching: called first, so no new worker starts while the others are being stopped.
    package static func install(hint: String, stopLaunching: @escaping @Sendable () -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                interrupted.store(true, ordering: .sequentiallyConsistent)
                stopLaunching()
                var killed = killChildren()
                usleep(50_000)
                killed += killChildren()
                Terminal.error("\nodin: interrupted; stopped \(Plural.count(killed, "worker process", "worker processes")). \(hint)")
                exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// SIGKILLs every process whose parent is this one (Linux /proc); returns how many.
    package static func killChildren() -> Int {
        let own = getpid()
        var count = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            // /proc files report size 0, so read them as streams.
            guard let pid = Int32(entry), let handle = FileHandle(forReadingAtPath: "/proc/\(entry)/stat") else { continue }
            let stat = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            guard let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, then ppid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == own {
                kill(pid, SIGKILL)
                count += 1
            }
        }
        return count
    }
}
