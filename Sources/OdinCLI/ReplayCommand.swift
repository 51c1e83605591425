import ArgumentParser
import Foundation
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
        let name = try function ?? Self.functionName(for: events[0].1, path: events[0].0)
        let bootstrap = (binDir as NSString).appendingPathComponent(name)
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = name
        configuration.timeoutSeconds = timeout
        configuration.memoryMB = memory
        let environment = ProcessInfo.processInfo.environment.filter { key, _ in
            key.hasPrefix("AWS_") && key != "AWS_LAMBDA_RUNTIME_API" || key.hasPrefix("ODIN_") || key == "LOG_LEVEL"
                || key == "HOME"
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

    /// Picks the function for an event by its shape.
    static func functionName(for data: Data, path: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("\(path) is not a JSON object; pass --function to replay it anyway")
        }
        if object["Event"] as? String == "s3:TestEvent" { return "ingest" }
        if let source = object["source"] as? String {
            if source == "aws.batch" { return "job-events" }
            if source == "aws.s3" { return "ingest" }
            if source == "aws.events" || object["detail-type"] as? String == "Scheduled Event" { return "sweeper" }
        }
        if let records = object["Records"] as? [[String: Any]], let first = records.first {
            let source = (first["eventSource"] ?? first["EventSource"]) as? String
            switch source {
            case "aws:s3": return "ingest"
            case "aws:sns": return "budget-guard"
            case "aws:sqs": return "ingest"
            default: break
            }
        }
        throw ValidationError("cannot tell which function \(path) is for (not S3, aws.batch, SNS or a schedule); pass --function")
    }
}
