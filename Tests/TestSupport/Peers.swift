import Foundation

/// Locating and running the project's Python peers (moto_server, botocore) from tests.
public enum Peers {
    /// The package root.
    public static var packageRoot: String { TestEnvironment.packageRoot }

    /// The project venv: `$ODIN_VENV`, else `<package>/.venv` when it exists.
    public static var venv: String? {
        if let venv = ProcessInfo.processInfo.environment["ODIN_VENV"], !venv.isEmpty { return venv }
        let local = packageRoot + "/.venv"
        return FileManager.default.isExecutableFile(atPath: local + "/bin/python") ? local : nil
    }

    /// `<venv>/bin/python`, or nil when there is no venv.
    public static var python: String? { venv.map { $0 + "/bin/python" } }

    /// True when a missing peer must fail rather than skip (`ODIN_REQUIRE_PEERS=1` or `CI=true`).
    @available(*, deprecated, message: "declare the peer with the .requires(_:) trait (Tests/TestSupport/Peer.swift)")
    public static var isCI: Bool { Peer.areRequired }

    /// The shared moto_server endpoint exported by `scripts/with-moto.sh`.
    public static var motoEndpoint: String? {
        ProcessInfo.processInfo.environment["MOTO_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Runs `executable` with `arguments`, feeding `input` to stdin; returns status and outputs.
    public static func run(
        _ executable: String, _ arguments: [String], input: [UInt8] = [], environment: [String: String]? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errData = Mutex_Data()
        let errThread = Thread { errData.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
        errThread.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return (process.terminationStatus, String(decoding: out, as: UTF8.self),
                String(decoding: errData.get(), as: UTF8.self))
    }
}

/// A one-shot box for data produced on another thread.
final class Mutex_Data: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}
