import ArgumentParser
import Foundation
import OdinApp
import OdinBasics
import RuntimeEmulator

/// `odin replay`: hands events to a real `bootstrap` under the local Runtime API emulator.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a Lambda event (or a folder of events, in name order) through a function's real bootstrap.",
        discussion: """
            The function's binary runs as a separate process against a loopback Runtime API emulator that behaves \
            like the Lambda service (Content-Type and epoch deadline on next, 202 on accepted posts, 413 above \
            6,291,556 bytes, 400 for unknown request ids). Prints each response on stdout; START/END/REPORT lines \
            and the function's logs go to stderr. Exits 1 if any invocation failed.

            Without --function the function is chosen from the event's shape: S3 records or an S3 test event → \
            ingest, source aws.batch → job-events, SNS records → budget-guard, a scheduled event → sweeper.

            With --seed-local (what `make replay` uses when AWS_ENDPOINT_URL is unset: it starts a moto_server first) \
            the stack's resources are created on the local endpoint (data bucket, state table, Spot and On-Demand \
            compute environments and queues, worker and Hugin job definitions, notification topic), plus, for a Batch \
            event, a run record, job record and manifest matching its odin:run tag; the function then gets the \
            ODIN_* variables infra/stack.yaml gives it, and ODIN_LOG_AWS_CALLS=1 prints one line per AWS call.

            Example: odin replay events/job-done.json --function echo
            """)

    @Argument(help: "An event JSON file, or a folder of *.json events replayed in name order.")
    var event: String

    @Option(name: .long, help: "Function to run: echo, ingest, job-events, budget-guard or sweeper.")
    var function: String?

    @Option(name: .long, help: "Folder holding the function binaries (swift build output).")
    var binDir: String = ".build/debug"

    @Option(name: .long, help: "Function timeout in seconds, as configured in Lambda.")
    var timeout: Double = 30

    @Option(name: .long, help: "Memory size in MB reported to the function.")
    var memory: Int = 128

    @Flag(name: .long, help: "Create the stack's resources (and a run matching a Batch event) on the loopback AWS_ENDPOINT_URL first.")
    var seedLocal = false

    static let functions = ["echo", "ingest", "job-events", "budget-guard", "sweeper"]

    func validate() throws {
        if let function, !Self.functions.contains(function) {
            throw ValidationError("--function '\(function)' is not one of: \(Self.functions.joined(separator: ", "))")
        }
        guard timeout > 0, timeout <= 900 else { throw ValidationError("--timeout must be in 1…900 seconds") }
    }

    func run() throws {
        let files = try eventFiles()
        let events = try files.map { path -> (String, Data) in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read event file \(path)")
            }
            return (path, data)
        }
        let name = try function ?? usage { try ReplayEvents.functionName(for: events[0].1, path: events[0].0) }
        let bootstrap = (binDir as NSString).appendingPathComponent(name)
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = name
        configuration.timeoutSeconds = timeout
        configuration.memoryMB = memory
        let processEnvironment = ProcessEnvironment.snapshot()
        var environment = processEnvironment.filter { key, _ in
            key.hasPrefix("AWS_") && key != "AWS_LAMBDA_RUNTIME_API" || key.hasPrefix("ODIN_") || key == "LOG_LEVEL"
                || key == "HOME"
        }
        if seedLocal && name != "echo" {
            if let refusal = LocalSeed.endpointRefusal(processEnvironment) { throw ValidationError(refusal) }
            let seeded = try LocalSeed.seed(event: Array(events[0].1), environment: processEnvironment,
                                            note: { Terminal.error($0) })
            for (key, value) in seeded { environment[key] = value }
            environment["ODIN_LOG_AWS_CALLS"] = "1"
        }
        let session = try ReplaySession(bootstrap: bootstrap, configuration: configuration,
                                        extraEnvironment: environment) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        var failed = false
        for (path, data) in events {
            if events.count > 1 { FileHandle.standardError.write(Data("== \(path)\n".utf8)) }
            let result = session.invoke([UInt8](data))
            switch result.outcome {
            case .response(let body):
                print(String(decoding: body, as: UTF8.self))
            case .error(let type, let body):
                failed = true
                print(String(decoding: body, as: UTF8.self))
                FileHandle.standardError.write(Data("error (\(type ?? "no type header")) from \(name) for \(path)\n".utf8))
            case .responseTooLarge(let size):
                failed = true
                FileHandle.standardError.write(Data("response of \(size) bytes exceeds 6291556 bytes for \(path)\n".utf8))
            case .requestTooLarge(let size):
                failed = true
                print(RuntimeAPIEmulator.requestTooLargeBody)
                FileHandle.standardError.write(Data("413 RequestEntityTooLargeException: the event of \(size) bytes exceeds Lambda's 6291456-byte invoke limit (\(path)); it never reached \(name)\n".utf8))
            case .timedOut:
                failed = true
                if let initError = session.emulator.initError {
                    print(String(decoding: initError.body, as: UTF8.self))
                    FileHandle.standardError.write(Data("init error (\(initError.type ?? "no type")) from \(name)\n".utf8))
                }
                break
            }
            if session.process.poll() != nil { break }
        }
        if failed { throw ExitCode.failure }
    }

    private func eventFiles() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: event, isDirectory: &isDirectory) else {
            throw ValidationError("event file or folder '\(event)' does not exist")
        }
        guard isDirectory.boolValue else { return [event] }
        let names = try FileManager.default.contentsOfDirectory(atPath: event).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw ValidationError("folder '\(event)' holds no *.json events") }
        return names.map { (event as NSString).appendingPathComponent($0) }
    }
}
