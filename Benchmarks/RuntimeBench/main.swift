// Runtime benchmark driver (not a test): runs Lambda runtimes as separate processes against the same loopback
// Runtime API emulator and measures per-invocation overhead, init time (process start → first GET next), and peak
// RSS. Prints one JSON object per runtime on stdout; scripts/bench/20-runtime.sh turns them into a table.
//
// Usage: runtime-bench NAME COMMAND [ARG…] [--cwd DIR] [--invocations N] [--starts N] [--env K=V]…
// (--invocations 0 measures init only.)
import Foundation
import RuntimeEmulator

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, default value: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    let found = arguments[index + 1]
    arguments.removeSubrange(index...index + 1)
    return found
}
var extraEnvironment: [String: String] = [:]
while let index = arguments.firstIndex(of: "--env"), index + 1 < arguments.count {
    let pair = arguments[index + 1]
    arguments.removeSubrange(index...index + 1)
    guard let equals = pair.firstIndex(of: "=") else { continue }
    extraEnvironment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
}
let invocations = Int(option("--invocations", default: "2000"))!
let starts = Int(option("--starts", default: "20"))!
let cwd = option("--cwd", default: FileManager.default.currentDirectoryPath)
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: runtime-bench NAME COMMAND [ARG…] [--cwd DIR] [--invocations N] [--starts N]\n".utf8))
    exit(2)
}
let name = arguments[0]
let command = arguments[1]
let commandArguments = Array(arguments.dropFirst(2))
FileManager.default.changeCurrentDirectoryPath(cwd)

@MainActor func environment(_ api: String) -> [String: String] {
    var env = ["AWS_LAMBDA_RUNTIME_API": api, "AWS_LAMBDA_FUNCTION_NAME": "echo", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
               "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "_HANDLER": "echo", "LAMBDA_TASK_ROOT": cwd,
               "PATH": "/usr/local/bin:/usr/bin:/bin", "LOG_LEVEL": "error", "AWS_LAMBDA_LOG_LEVEL": "error"]
    if let home = ProcessInfo.processInfo.environment["HOME"] { env["HOME"] = home }
    for (key, value) in extraEnvironment { env[key] = value }
    return env
}

let payload = Array(#"{"n":1,"camera":"cam01"}"#.utf8)

/// CPU time the process has run so far (all threads, user + system), in nanoseconds, from the scheduler's
/// `/proc/PID/task/TID/schedstat` (less disturbed by other load on a shared machine than wall time).
func cpuNanoseconds(_ pid: pid_t) -> Double? {
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
    var total = 0.0
    for thread in threads {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/schedstat", encoding: .utf8),
              let first = text.split(separator: " ").first, let value = Double(first) else { continue }
        total += value
    }
    return total
}

// Init time: median over `starts` fresh processes of spawn → first GET next.
var initTimes: [Double] = []
var initCPU: [Double] = []
for _ in 0..<starts {
    let emulator = try RuntimeAPIEmulator()
    let process = try ChildProcess(path: command, arguments: commandArguments, environment: environment(emulator.address),
                                   outputPath: "/dev/null")
    let deadline = Date().addingTimeInterval(20)
    while emulator.firstNextAt == nil && Date() < deadline && process.poll() == nil { usleep(100) }
    if let first = emulator.firstNextAt {
        initTimes.append((first - process.startedAt) * 1000)
        // The process now waits in its first GET next: what it has run so far is its init.
        if let cpu = cpuNanoseconds(process.pid) { initCPU.append(cpu / 1e6) }
    }
    process.terminate(grace: 0.2)
    emulator.stop()
}
initTimes.sort()
initCPU.sort()

// Per-invocation overhead: one process, warm-up, then `invocations` sequential next → response cycles.
let emulator = try RuntimeAPIEmulator()
let process = try ChildProcess(path: command, arguments: commandArguments, environment: environment(emulator.address),
                               outputPath: "/dev/null")
var failures = 0
var elapsed = 0.0
var cpuPerInvocation = -1.0
// Peak RSS is read after at least the init (first GET next) has happened.
let initDeadline = Date().addingTimeInterval(20)
while emulator.firstNextAt == nil && Date() < initDeadline && process.poll() == nil { usleep(100) }
if invocations > 0 {
    for _ in 0..<100 { if case .response = emulator.invoke(payload) {} else { failures += 1 } }
    let cpuBefore = cpuNanoseconds(process.pid)
    let started = Date()
    for _ in 0..<invocations { if case .response = emulator.invoke(payload) {} else { failures += 1 } }
    elapsed = Date().timeIntervalSince(started)
    if let cpuBefore, let cpuAfter = cpuNanoseconds(process.pid) { cpuPerInvocation = (cpuAfter - cpuBefore) / Double(invocations) / 1000 }
}
let rss = process.peakRSSKiB() ?? 0
process.terminate(grace: 0.5)
emulator.stop()

let result: [String: Any] = [
    "name": name,
    "invocations": invocations,
    "failures": failures,
    "us_per_invocation": invocations > 0 ? elapsed / Double(invocations) * 1e6 : -1,
    "init_ms_median": initTimes.isEmpty ? -1 : initTimes[initTimes.count / 2],
    "init_samples": initTimes.count,
    "init_cpu_ms_median": initCPU.isEmpty ? -1 : initCPU[initCPU.count / 2],
    "cpu_us_per_invocation": cpuPerInvocation,
    "peak_rss_kib": rss,
]
let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
