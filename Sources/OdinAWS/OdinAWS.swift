// The AWS binding of Odin's ports (S3 object store, DynamoDB state store, Batch compute, SNS notifier, Batch Hugin
// condensation), on the project's own AWS client. Kept apart from Odin so the control logic and the local binding
// never link AWS code. The Lambda mains call `AWSBinding.functionServices(environment:logger:)` once at cold start.
import AWS
import Crypto
import Odin
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

/// A configuration error naming the environment variable (or input) and the fix.
public struct OdinAWSError: Error, CustomStringConvertible, Sendable, Equatable {
    public let variable: String
    public let message: String
    public init(variable: String, _ message: String) {
        self.variable = variable
        self.message = message
    }
    public var description: String { "\(variable): \(message)" }
}

/// The AWS binding as a whole: the functions' settings read from their environment (the stack's ODIN_* variables), the
/// AWS client, and `OdinServices` over S3, DynamoDB, Batch and SNS.
public enum AWSBinding {
    /// The variables every function needs (infra/stack.yaml, `Environment.Variables` of the four functions).
    public static let requiredVariables = [
        "ODIN_STAGE", "ODIN_BUCKET", "ODIN_TABLE", "ODIN_SPOT_QUEUE", "ODIN_OD_QUEUE", "ODIN_SPOT_CE", "ODIN_OD_CE",
        "ODIN_WORKER_JOB_DEFINITION", "ODIN_HUGIN_JOB_DEFINITION", "ODIN_SHARE_IDENTIFIER", "ODIN_TOPIC_ARN",
    ]

    /// The resolved names and settings `makeServices` builds from, exposed for tools (replay seeding, the CLI).
    public struct Settings: Sendable, Equatable {
        public var stage: String
        public var bucket: String
        public var table: String
        public var spotQueue: String
        public var onDemandQueue: String
        public var spotComputeEnvironment: String
        public var onDemandComputeEnvironment: String
        public var workerJobDefinition: String
        public var huginJobDefinition: String
        public var shareIdentifier: String
        public var schedulingPriority: Int
        public var topicARN: String
        public var budgetName: String?
        public var metricsNamespace: String
        public var profile: Profile
    }

    /// Reads and validates the ODIN_* variables; every error names the variable and what it should hold.
    public static func settings(environment: [String: String]) throws -> Settings {
        let missing = requiredVariables.filter { (environment[$0] ?? "").isEmpty }
        if !missing.isEmpty {
            throw OdinAWSError(variable: missing.joined(separator: ", "),
                               "not set; the stack (infra/stack.yaml) sets every ODIN_* variable of the functions")
        }
        func value(_ name: String) -> String { trimmingSpaces(environment[name]!) }
        let stage = value("ODIN_STAGE")
        guard stage.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }), (1...10).contains(stage.count)
        else { throw OdinAWSError(variable: "ODIN_STAGE", "'\(stage)' must be 1–10 characters of a-z and 0-9") }
        let bucket = value("ODIN_BUCKET")
        guard ObjectStores.isBucketName(bucket) else {
            throw OdinAWSError(variable: "ODIN_BUCKET", "'\(bucket)' is not an S3 bucket name (3–63 of a-z 0-9 . -)")
        }
        let topic = value("ODIN_TOPIC_ARN")
        let topicFields = arnFields(topic)
        guard topic.hasPrefix("arn:"), topicFields.count >= 6, topicFields[2] == "sns"
        else { throw OdinAWSError(variable: "ODIN_TOPIC_ARN", "'\(topic)' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)") }
        var priority = RunPriority.normal.schedulingPriority
        if let raw = environment["ODIN_PRIORITY"], !raw.isEmpty {
            guard let number = RunPriority.schedulingPriority(parsing: raw) else {
                throw OdinAWSError(variable: "ODIN_PRIORITY", "'\(raw)' must be high, normal, low or 0…9999")
            }
            priority = number
        }
        var profile: Profile
        do {
            profile = try Profile.fromEnvironment(environment)
        } catch {
            throw OdinAWSError(variable: error.keyPath, error.message)
        }
        let settings = Settings(
            stage: stage, bucket: bucket, table: try name(value("ODIN_TABLE"), variable: "ODIN_TABLE", kind: "table"),
            spotQueue: try name(value("ODIN_SPOT_QUEUE"), variable: "ODIN_SPOT_QUEUE", kind: "job-queue"),
            onDemandQueue: try name(value("ODIN_OD_QUEUE"), variable: "ODIN_OD_QUEUE", kind: "job-queue"),
            spotComputeEnvironment: try name(value("ODIN_SPOT_CE"), variable: "ODIN_SPOT_CE", kind: "compute-environment"),
            onDemandComputeEnvironment: try name(value("ODIN_OD_CE"), variable: "ODIN_OD_CE", kind: "compute-environment"),
            workerJobDefinition: try name(value("ODIN_WORKER_JOB_DEFINITION"), variable: "ODIN_WORKER_JOB_DEFINITION",
                                          kind: "job-definition"),
            huginJobDefinition: try name(value("ODIN_HUGIN_JOB_DEFINITION"), variable: "ODIN_HUGIN_JOB_DEFINITION",
                                         kind: "job-definition"),
            shareIdentifier: value("ODIN_SHARE_IDENTIFIER"), schedulingPriority: priority, topicARN: topic,
            budgetName: environment["ODIN_BUDGET_NAME"].flatMap { $0.isEmpty ? nil : $0 },
            metricsNamespace: environment["ODIN_METRICS_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "OdinsRavne",
            profile: profile)
        // The stack's resources win over the profile's default names: the control logic compares queue names (an
        // event's `jobQueue` ARN ends in the name), so ARNs are reduced to names here.
        profile.compute.spotQueue = settings.spotQueue
        profile.compute.onDemandQueue = settings.onDemandQueue
        profile.compute.spotComputeEnvironment = settings.spotComputeEnvironment
        profile.compute.onDemandComputeEnvironment = settings.onDemandComputeEnvironment
        profile.compute.workerJobDefinition = settings.workerJobDefinition
        profile.compute.condenseJobDefinition = settings.huginJobDefinition
        // ODIN_BUDGET_STOP_AMOUNT (the stack's BudgetStopAmount): notifications below it only warn.
        if let raw = environment["ODIN_BUDGET_STOP_AMOUNT"], !raw.isEmpty {
            guard let amount = Double(raw), amount.isFinite, amount > 0 else {
                throw OdinAWSError(variable: "ODIN_BUDGET_STOP_AMOUNT",
                                   "'\(raw)' must be a positive amount in ODIN_BUDGET_CURRENCY (the stack's BudgetStopAmount)")
            }
            profile.budget.stopAmount = amount
        }
        // The stack creates one budget named ODIN_BUDGET_NAME; its notifications must trigger the kill-switch.
        if let budget = settings.budgetName, !profile.budget.actOnBudgets.contains(budget) {
            profile.budget.actOnBudgets.append(budget)
        }
        var result = settings
        result.profile = profile
        return result
    }

    /// `text` without its leading and trailing spaces, by UTF-8 index (a `Character` walk through reversed
    /// collections ran unspecialised generic code and cost a quarter of a function's cold start).
    package static func trimmingSpaces(_ text: String) -> String {
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { $0 != 0x20 }) else { return "" }
        let last = bytes.lastIndex(where: { $0 != 0x20 })!
        if first == bytes.startIndex && bytes.index(after: last) == bytes.endIndex { return text }
        return String(text[first...last])
    }

    /// Accepts a plain name or an ARN of `kind` (`arn:aws:batch:…:job-queue/NAME`) and returns the name.
    static func name(_ raw: String, variable: String, kind: String) throws -> String {
        guard raw.hasPrefix("arn:") else {
            guard !raw.contains("/"), !raw.contains(" ") else {
                throw OdinAWSError(variable: variable, "'\(raw)' is neither a name nor an ARN of a \(kind)")
            }
            return raw
        }
        let fields = arnFields(raw)
        let resource = fields.count >= 6 ? fields[5] : fields[fields.count - 1]
        let expected = kind == "table" ? "table" : kind
        // resource is "kind/NAME" (or "kind/NAME/…", of which NAME is kept).
        let bytes = resource.utf8
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")), resource[..<slash] == expected else {
            throw OdinAWSError(variable: variable, "'\(raw)' is not a \(kind) ARN (…:\(expected)/NAME)")
        }
        let rest = resource[bytes.index(after: slash)...]
        let nameEnd = rest.utf8.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        guard nameEnd > rest.startIndex else {
            throw OdinAWSError(variable: variable, "'\(raw)' is not a \(kind) ARN (…:\(expected)/NAME)")
        }
        // Job definition ARNs end in :REVISION; SubmitJob then uses that revision, so keep "NAME:REVISION".
        return String(rest[..<nameEnd])
    }

    /// The colon-separated fields of an ARN, the sixth (the resource) kept whole even if it holds colons; empty
    /// fields kept. By UTF-8 index: `split` instantiated its generic metadata at every cold start (0.12 M
    /// instructions of the functions' init).
    static func arnFields(_ arn: String) -> [Substring] {
        var fields: [Substring] = []
        var start = arn.startIndex
        var index = start
        let bytes = arn.utf8
        while index < arn.endIndex {
            if bytes[index] == UInt8(ascii: ":") && fields.count < 5 {
                fields.append(arn[start..<index])
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        fields.append(arn[start...])
        return fields
    }

    /// The AWS client for the functions, configured from the environment (region, credentials chain, endpoint
    /// overrides such as AWS_ENDPOINT_URL). `ODIN_LOG_AWS_CALLS=1` logs one line per call on stderr; `logger`
    /// gets the client's retries (debug) and attempts (trace).
    public static func makeClient(environment: [String: String], logger: Logger? = nil) throws -> AWSClient {
        do throws(AWSError) {
            var configuration = try AWSClient.Configuration.fromEnvironment(environment)
            configuration.logger = logger
            return AWSClient(configuration: configuration)
        } catch {
            throw OdinAWSError(variable: "AWS_REGION", error.message)
        }
    }

    /// The services of a Lambda function (its main calls this once at cold start): libcrypto is initialised without
    /// an OpenSSL configuration file first (provided.al2023 has no Debian `openssl.cnf`, so local runs behave as on
    /// Lambda; `CryptoLibrary.initializeWithoutConfigFile`), before the first signature or TLS connection, then
    /// `makeServices`. Here rather than in the runtime, so a function without AWS (echo) links no OpenSSL.
    public static func functionServices(environment: [String: String], logger: Logger) throws -> OdinServices {
        CryptoLibrary.initializeWithoutConfigFile()
        return try makeServices(environment: environment, logger: logger)
    }

    /// Builds the services of a Lambda function from its environment (read once at cold start).
    /// - Parameter logger: the runtime's logger (its lines carry the request id of the invocation being handled);
    ///   nil: JSON lines on stderr at the level `AWS_LAMBDA_LOG_LEVEL` / `LOG_LEVEL` name.
    public static func makeServices(environment: [String: String], logger: Logger? = nil,
                                    clock: any WallClock = SystemClock()) throws -> OdinServices
    {
        let logger = logger ?? Logger(level: Logger.level(from: environment))
        let settings = try settings(environment: environment)
        let client = try makeClient(environment: environment, logger: logger)
        let compute = BatchCompute(client: client, shareIdentifier: settings.shareIdentifier,
                                   schedulingPriority: settings.schedulingPriority,
                                   extraTags: ["odin:stage": settings.stage])
        let metrics = StageMetrics(stage: settings.stage, inner: EMFMetrics(namespace: settings.metricsNamespace,
                                                                           clock: clock, write: Output.stdout))
        return OdinServices(
            profile: settings.profile, objects: S3ObjectStore(client: client, bucket: settings.bucket),
            state: DynamoStateStore(client: client, table: settings.table), compute: compute,
            notifier: SNSNotifier(client: client, topicARN: settings.topicARN), metrics: metrics,
            condensation: BatchCondensation(compute: compute, profile: settings.profile), clock: clock,
            log: logger)
    }
}

/// EMF with the stack's one dimension `Stage=<stage>` (infra/README.md, Metrics): the logic's own dimensions become
/// properties, so the dashboard's metric identities hold.
public struct StageMetrics: MetricsSink {
    let stage: String
    let inner: any MetricsSink
    public init(stage: String, inner: any MetricsSink) {
        self.stage = stage
        self.inner = inner
    }
    public func emit(_ metrics: [Metric], dimensions: [String: String], properties: [String: String]) {
        var merged = properties
        for (key, value) in dimensions where merged[key] == nil { merged[key] = value }
        inner.emit(metrics, dimensions: ["Stage": stage], properties: merged)
    }
}

/// The line writer for EMF (stdout); one write per line so lines never interleave.
enum Output {
    static let stdout: @Sendable (String) -> Void = { line in write(1, line) }
    static func write(_ fd: Int32, _ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(10)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            sent += n
        }
    }
}
