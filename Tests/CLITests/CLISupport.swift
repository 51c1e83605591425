import Foundation
import TestSupport

/// Runs the built `odin` binary and captures its output.
struct OdinProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        /// stdout parsed as a JSON object.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw CLITestError("stdout is not a JSON object: \(stdout.prefix(500))")
            }
            return object
        }
    }

    static var binary: String { TestEnvironment.binary("odin") }

    /// Folder with munin-worker and hugin: ODIN_TEST_BIN_DIR, else next to odin.
    static var binDirArguments: [String] {
        if let dir = ProcessInfo.processInfo.environment["ODIN_TEST_BIN_DIR"], !dir.isEmpty { return ["--bin-dir", dir] }
        return []
    }

    static func run(_ arguments: [String], environment extra: [String: String] = [:],
                    directory: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so neither fills up.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A private moto_server; throws (the test fails) when it cannot start. Tests using it declare `.requires(.venv)`,
/// which skips them (or fails them under `make test`) when the venv is missing.
func makeMoto() throws -> MotoServer {
    try MotoServer()
}

/// The CLI's AWS environment: through the contract checker's model validation (ContractProxy) under make test.
func awsEnvironment(_ moto: MotoServer) -> [String: String] {
    ["AWS_ENDPOINT_URL": ContractProxy.endpoint(for: moto.endpoint), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
     "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"]
}

/// Processes whose command line mentions `marker` (to prove nothing was left running).
func processes(mentioning marker: String) -> [String] {
    var found: [String] = []
    let own = ProcessInfo.processInfo.processIdentifier
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), pid != own,
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
        let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        if line.contains(marker) { found.append("\(pid): \(line)") }
    }
    return found
}
