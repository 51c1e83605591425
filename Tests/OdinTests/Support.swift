import Events
import FoundationEssentials
@testable import Odin
import OdinKit
import OdinLocal
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A unique temporary folder.
func makeTempDirectory(_ label: String) throws -> String {
    let path = "/tmp/odin-tests-\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Records condensation requests (in-process condensation).
final class CondensationLog: Sendable {
    let requests = Mutex<[CondensationRequest]>([])
    var all: [CondensationRequest] { requests.withLock { $0 } }
    var condensation: InProcessCondensation {
        InProcessCondensation { request in self.requests.withLock { $0.append(request) } }
    }
}

/// Services over the in-memory store, a directory object store and a manually driven LocalCompute. Its temporary
/// folder is removed when the harness goes away.
final class Harness: Sendable {
    let clock = ManualClock()
    let state: InMemoryStateStore
    let objects: DirectoryObjectStore
    let compute: LocalCompute
    let notifier = MemoryNotifier()
    let condensations = CondensationLog()
    let counter = PortCallCounter()
    let services: OdinServices

    init(profile: Profile = Profile(), label: String = "harness") throws {
        state = InMemoryStateStore(clock: clock)
        objects = try DirectoryObjectStore(root: try makeTempDirectory(label))
        compute = LocalCompute(configuration: .init(profile: profile, runner: .manual), clock: clock)
        services = OdinServices(profile: profile, objects: objects,
                                state: CountingStateStore(state, counter: counter),
                                compute: CountingCompute(compute, counter: counter), notifier: notifier,
                                metrics: NoMetrics(), condensation: condensations.condensation, clock: clock)
    }

    deinit { try? FileManager.default.removeItem(atPath: objects.root) }

    /// An S3 notification for `keys` (form-encoded as S3 does).
    static func s3Event(_ keys: [String], bucket: String = "data", size: Int64 = 1000) -> [UInt8] {
        let records = keys.map { key -> String in
            let encoded = String(key.map { $0 == " " ? "+" : $0 })
            return #"{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"\#(bucket)"},"object":{"key":"\#(encoded)","size":\#(size),"eTag":"e-\#(encoded)"}}}"#
        }
        return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
    }

    func ingest(_ keys: [String], size: Int64 = 1000) throws -> IngestResult {
        try IngestHandler.handleDecoded(Self.s3Event(keys, size: size), services: services)
    }

    func sweep() throws -> SweepResult {
        try SweeperService(services: services).sweep()
    }

    func runs() throws -> [RunRecord] {
        try state.query(partition: Schema.allRunsPartition, sortPrefix: "").compactMap {
            try RunRecord.load($0.key.sort, state: state)
        }
    }
}
