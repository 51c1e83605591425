#if canImport(Glibc)
import Glibc
#endif

/// Runs a real `bootstrap` under the emulator and feeds it events, like `sam local invoke` without a container:
/// START/END/REPORT lines in the format Lambda writes to CloudWatch, the response or error per event.
public final class ReplaySession {
    public struct Result: Sendable {
        public var outcome: RuntimeAPIEmulator.Outcome
        public var durationMs: Double
    }

    public let emulator: RuntimeAPIEmulator
    public let process: ChildProcess
    private let log: (String) -> Void
    private var initDurationMs: Double?

    /// Starts `bootstrap` with the Lambda environment pointing at a fresh emulator.
    /// - Parameters:
    ///   - extraEnvironment: added to (and overriding) the Lambda variables; e.g. AWS endpoint and credentials.
    ///   - log: receives the START/END/REPORT lines and notices (stderr in the CLI).
    public init(bootstrap: String, configuration: RuntimeAPIEmulator.Configuration,
                extraEnvironment: [String: String] = [:], outputPath: String? = nil,
                log: @escaping (String) -> Void) throws {
        guard access(bootstrap, X_OK) == 0 else {
            throw ServerError("\(bootstrap) is not an executable; build it first (make build, or swift build --product NAME)")
        }
        emulator = try RuntimeAPIEmulator(configuration: configuration)
        var environment: [String: String] = [
            "AWS_LAMBDA_RUNTIME_API": emulator.address,
            "AWS_LAMBDA_FUNCTION_NAME": configuration.functionName,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(configuration.memoryMB),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": String(Int(configuration.timeoutSeconds)),
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/\(configuration.functionName)",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local/replay",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": configuration.region,
            "AWS_DEFAULT_REGION": configuration.region,
            "_HANDLER": configuration.functionName,
            "LAMBDA_TASK_ROOT": String(bootstrap.split(separator: "/").dropLast().joined(separator: "/")),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "TZ": ":UTC",
        ]
        if bootstrap.hasPrefix("/") { environment["LAMBDA_TASK_ROOT"] = "/" + environment["LAMBDA_TASK_ROOT"]! }
        for (key, value) in extraEnvironment { environment[key] = value }
        process = try ChildProcess(path: bootstrap, environment: environment, outputPath: outputPath)
        self.log = log
    }

    deinit {
        process.terminate()
        emulator.stop()
    }

    /// Sends one event and waits for the answer (or the function timeout, or the process dying).
    public func invoke(_ payload: [UInt8], options: RuntimeAPIEmulator.InvocationOptions = .init()) -> Result {
        var options = options
        let requestID = options.requestID ?? RuntimeAPIEmulator.makeRequestID(Int.random(in: 1...1_000_000))
        options.requestID = requestID
        log("START RequestId: \(requestID) Version: $LATEST")
        let started = Monitor.monotonicNow()
        let process = self.process
        let outcome = emulator.invoke(payload, options: options) { process.poll() != nil }
        let duration = (Monitor.monotonicNow() - started) * 1000
        log("END RequestId: \(requestID)")
        let memory = emulator.configuration.memoryMB
        let used = (process.peakRSSKiB() ?? 0) / 1024
        var report = "REPORT RequestId: \(requestID)\tDuration: \(Self.format(duration)) ms\t"
            + "Billed Duration: \(Int(duration.rounded(.up))) ms\tMemory Size: \(memory) MB\tMax Memory Used: \(used) MB"
        if initDurationMs == nil {
            initDurationMs = 0
            report += "\tInit Duration: (included above)"
        }
        log(report)
        if case .timedOut = outcome {
            if let status = process.poll() {
                log("the runtime process exited with status \(status) before answering")
            } else {
                log("Task timed out after \(Self.format(emulator.configuration.timeoutSeconds)) seconds")
            }
        }
        return Result(outcome: outcome, durationMs: duration)
    }

    static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
