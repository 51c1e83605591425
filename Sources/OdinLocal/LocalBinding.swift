import Events
import FoundationEssentials
import Odin
import OdinBasics
import OdinKit

/// The whole local binding wired together (what `odin run --local` and `make demo` use): a directory object store,
/// a file-backed state store, LocalCompute running `worker` per array child with its job events fed to the same
/// job-events logic the Lambda function runs, a stdout notifier and EMF metrics to a writer.
public struct LocalBinding: Sendable {
    public let services: OdinServices
    public let compute: LocalCompute
    public let objects: DirectoryObjectStore
    public let state: LocalStateStore

    /// - Parameters:
    ///   - root: folder holding `store/` (the bucket layout) and `state/`.
    ///   - worker: argv run per child (e.g. `["munin-worker"]`); it gets ODIN_STORE=<root>/store, ODIN_RUN_ID,
    ///     ODIN_MANIFEST, ODIN_INDEX_OFFSET and the AWS_BATCH_* variables.
    ///   - onEventError: called when handling a job event fails (the event is otherwise dropped locally; on AWS the
    ///     Lambda retry and the sweeper recover it).
    public static func make(root: String, profile: Profile, worker: [String], workerEnvironment: [String: String] = [:],
                            faults: LocalCompute.Faults = .init(), condensation: any Condensation,
                            clock: any WallClock = SystemClock(), log: Logger = .silent,
                            notifier: (any Notifier)? = nil,
                            metricsWriter: @escaping @Sendable (String) -> Void = { _ in },
                            onEventError: @escaping @Sendable (BatchJobStateChange, any Error) -> Void = { _, _ in })
        throws -> LocalBinding {
        let objects = try DirectoryObjectStore(root: root + "/store")
        let state = try LocalStateStore(root: root + "/state", clock: clock)
        var environment = workerEnvironment
        environment["ODIN_STORE"] = objects.root
        if environment["PATH"] == nil { environment["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        var configuration = LocalCompute.Configuration(profile: profile,
                                                       runner: .command(worker, environment: environment,
                                                                        logDirectory: root + "/logs"),
                                                       faults: faults)
        // Each process on this state folder is a new session with its own job ids (a later `odin resume` must not
        // reuse the ids, and so the state keys, of the run it resumes).
        let session = try state.add(StateKey("local", "compute-sessions"), counters: ["count": 1], set: [:])["count"] ?? 1
        configuration.jobIDPrefix = session == 1 ? "local" : "local\(session)"
        let compute = LocalCompute(configuration: configuration, clock: clock)
        try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)
        let services = OdinServices(profile: profile, objects: objects, state: state, compute: compute,
                                    notifier: notifier ?? StdoutNotifier(),
                                    metrics: EMFMetrics(clock: clock, write: metricsWriter),
                                    condensation: condensation, clock: clock, log: log)
        compute.setEventSink { event in
            do { _ = try JobEventsService(services: services).handle(event) } catch { onEventError(event, error) }
        }
        return LocalBinding(services: services, compute: compute, objects: objects, state: state)
    }
}
