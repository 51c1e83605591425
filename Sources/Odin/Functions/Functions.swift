import Events
import JSONCoding
import OdinKit

/// Entry points for the four Lambda functions. Each takes the raw event bytes and the injected services and returns
/// the JSON response bytes; a malformed event throws `EventDecodingError` naming the field before anything changes.
/// The thin `functions/<name>/src/main.swift` builds `OdinServices` once at cold start and calls `handle` per invocation.
public enum IngestHandler {
    public static func handle(_ event: [UInt8], services: OdinServices) throws -> [UInt8] {
        try FunctionJSON.encode(try handleDecoded(event, services: services))
    }
    public static func handleDecoded(_ event: [UInt8], services: OdinServices) throws -> IngestResult {
        try IngestService(services: services).handle(try IngestEvent.decode(event))
    }
}

public enum JobEventsHandler {
    public static func handle(_ event: [UInt8], services: OdinServices) throws -> [UInt8] {
        try FunctionJSON.encode(try handleDecoded(event, services: services))
    }
    public static func handleDecoded(_ event: [UInt8], services: OdinServices) throws -> JobEventResult {
        try JobEventsService(services: services).handle(try BatchJobStateChange.decode(event))
    }
}

public enum BudgetGuardHandler {
    public static func handle(_ event: [UInt8], services: OdinServices) throws -> [UInt8] {
        try FunctionJSON.encode(try handleDecoded(event, services: services))
    }
    public static func handleDecoded(_ event: [UInt8], services: OdinServices) throws -> BudgetGuardResult {
        try BudgetGuardService(services: services).handle(try BudgetSignal.decode(event))
    }
}

public enum SweeperHandler {
    public static func handle(_ event: [UInt8], services: OdinServices) throws -> [UInt8] {
        try FunctionJSON.encode(try handleDecoded(event, services: services))
    }
    public static func handleDecoded(_ event: [UInt8], services: OdinServices) throws -> SweepResult {
        _ = try ScheduledEvent.decode(event)
        return try SweeperService(services: services).sweep()
    }
}

enum FunctionJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try JSONCoder.encode(value)
    }
}

// MARK: - Condensation bindings

/// Condensation as a Batch job (Hugin image) on the On-Demand queue, tagged so its terminal event completes the run.
/// Small runs (≤ `in_process_max_chunks`) go to `inProcess` when one is given.
public struct BatchCondensation: Condensation {
    let compute: any Compute
    let profile: Profile
    let inProcess: (any Condensation)?

    public init(compute: any Compute, profile: Profile, inProcess: (any Condensation)? = nil) {
        self.compute = compute
        self.profile = profile
        self.inProcess = inProcess
    }

    public func startCondensation(_ request: CondensationRequest) throws -> String? {
        if let inProcess, request.chunkCount <= profile.clustering.inProcessMaxChunks {
            return try inProcess.startCondensation(request)
        }
        return try compute.submitJob(JobSubmission(
            name: "hugin-\(request.runID)", queue: profile.compute.onDemandQueue,
            jobDefinition: profile.compute.condenseJobDefinition, arraySize: 1,
            environment: ["ODIN_RUN_ID": request.runID, "ODIN_MANIFEST": request.manifestKey,
                          "ODIN_FAILED_CHUNKS": request.failedChunks.map(String.init).joined(separator: ","),
                          "ODIN_RADIUS_M": String(profile.clustering.radiusMeters),
                          "ODIN_VISIT_GAP_MIN": String(profile.clustering.visitGapMinutes)],
            tags: [JobTags.run: request.runID, JobTags.kind: "condense", JobTags.chunks: String(request.chunkCount),
                   JobTags.project: "odins-ravne"],
            attempts: 2, retryOnStatusReason: ["Host EC2*"], timeoutSeconds: profile.compute.jobTimeoutSeconds,
            priority: request.priority))
    }
}

/// Condensation run by a closure in this process (Hugin's API is bound by the caller), returning no job id.
public struct InProcessCondensation: Condensation {
    let body: @Sendable (CondensationRequest) throws -> Void
    public init(_ body: @escaping @Sendable (CondensationRequest) throws -> Void) { self.body = body }
    public func startCondensation(_ request: CondensationRequest) throws -> String? {
        try body(request)
        return nil
    }
}
