// Benchmark driver for scripts/bench/40-odin.sh: ingest planning, job-events per-event time, and port calls per run,
// counted by wrapping the ports (PortCallCounter) over the local binding. Prints one Markdown section.
import Events
import FoundationEssentials
import Odin
import OdinKit

#if canImport(Glibc)
import Glibc
import OdinLocal
#endif

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let elapsed = try clock.measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// `value` with `digits` decimals (no Foundation formatting here).
func fmt(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if digits == 0 { return String(Int64(rounded)) }
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

nonisolated(unsafe) var created: [String] = []

func temp(_ label: String) throws -> String {
    let path = "/tmp/odin-bench-\(label)-\(getpid())"
    created.append(path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func s3Event(_ keys: ArraySlice<String>) -> [UInt8] {
    let records = keys.map { key in
        #"{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"data"},"object":{"key":"\#(key)","size":3000000,"eTag":"e\#(key.hashValue)"}}}"#
    }
    return Array(#"{"Records":[\#(records.joined(separator: ","))]}"#.utf8)
}

struct Setup {
    let clock = ManualClock()
    let counter = PortCallCounter()
    let compute: LocalCompute
    let services: OdinServices

    init(profile: Profile, local: Bool, label: String) throws {
        let root = try temp(label)
        let base: any StateStore = local ? try LocalStateStore(root: root + "/state", clock: clock)
                                         : InMemoryStateStore(clock: clock)
        compute = LocalCompute(configuration: .init(profile: profile, runner: .manual), clock: clock)
        services = OdinServices(profile: profile, objects: try DirectoryObjectStore(root: root + "/store"),
                                state: CountingStateStore(base, counter: counter),
                                compute: CountingCompute(compute, counter: counter), notifier: MemoryNotifier(),
                                metrics: NoMetrics(), condensation: InProcessCondensation { _ in }, clock: clock)
    }
}

let arguments = CommandLine.arguments
let keyCount = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let localKeys = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
var rows: [String] = []

// 1. Planning: classify + chunk + manifest for `keyCount` keys.
let profile = Profile()
let planner = IngestPlanner(chunking: profile.chunking)
let keys = (0..<keyCount).map { "raw/cam\($0 % 7)/DCIM/\(100 + $0 / 9_999)MEDIA/IMG_\($0).JPG" }
var media: [MediaObject] = []
var chunks: [Chunk] = []
var manifestBytes = 0
let planTime = seconds {
    media = keys.compactMap { try? planner.classify(bucket: "data", key: $0, size: 3_000_000).get() }
    chunks = planner.plan(runID: "bench", objects: media)
}
let manifestTime = try seconds { manifestBytes = try IngestPlanner.manifest(chunks).count }
rows.append("| Ingest planning, \(keyCount) keys (classify + chunk) | \(fmt(planTime, 3)) s | target ≤ 1 s | \(chunks.count) chunks |")
rows.append("| Manifest encoding (gzip JSON lines), \(chunks.count) chunks | \(fmt(manifestTime, 3)) s | — | \(manifestBytes) bytes |")

// 2. Ingest burst end to end (dedup, collect, seal, manifest, submit): in-memory and local file store.
for (local, count) in [(false, keyCount), (true, localKeys)] {
    var burstProfile = Profile()
    burstProfile.chunking.secondsPerImage = 1  // 300 images per chunk
    let setup = try Setup(profile: burstProfile, local: local, label: "ingest-\(local)")
    let burst = Array(keys.prefix(count))
    let time = try seconds {
        for start in stride(from: 0, to: burst.count, by: 10) {
            _ = try IngestHandler.handleDecoded(s3Event(burst[start..<min(start + 10, burst.count)]), services: setup.services)
        }
        setup.clock.advance(seconds: 120)
        _ = try SweeperService(services: setup.services).sweep()
    }
    let submits = setup.counter.count("compute.submitJob")
    let name = local ? "LocalStateStore (files + flock)" : "InMemoryStateStore"
    rows.append("| Ingest burst, \(count) records in \(count / 10) invocations, \(name) | \(fmt(time, 2)) s (\(fmt(time / Double(count) * 1e6, 0)) µs/record) | bounded runs | \(submits) SubmitJob, \(fmt(Double(setup.counter.stateWrites) / Double(count), 2)) state writes/record |")
}

// 3. SubmitJob per 10,000 chunks: a 25,000-chunk run.
do {
    var big = Profile()
    big.chunking.secondsPerImage = 300
    let setup = try Setup(profile: big, local: false, label: "parts")
    let partKeys = (0..<25_000).map { "raw/camP/IMG_\($0).JPG" }
    for start in stride(from: 0, to: 25_000, by: 1_000) {
        _ = try IngestHandler.handleDecoded(s3Event(partKeys[start..<start + 1_000]), services: setup.services)
    }
    setup.clock.advance(seconds: 120)
    setup.counter.reset()
    _ = try SweeperService(services: setup.services).sweep()
    rows.append("| SubmitJob calls for one run of 25,000 chunks | \(setup.counter.count("compute.submitJob")) | O(1) per 10,000 chunks | \(setup.counter.count("compute.updateComputeEnvironment")) CE updates, \(setup.counter.count("compute.setQueueEnabled")) queue updates |")
}

// 4. Job events in steady state: one run of N chunks, every child SUCCEEDED, per-event time and writes.
for (local, count) in [(false, 10_000), (true, 2_000)] {
    var eventsProfile = Profile()
    eventsProfile.chunking.secondsPerImage = 300
    let setup = try Setup(profile: eventsProfile, local: local, label: "events-\(local)")
    let eventKeys = (0..<count).map { "raw/camE/IMG_\($0).JPG" }
    _ = try IngestHandler.handleDecoded(s3Event(eventKeys[0..<count]), services: setup.services)
    setup.clock.advance(seconds: 120)
    _ = try SweeperService(services: setup.services).sweep()
    let parent = try setup.compute.listJobs(.namePrefix(queue: eventsProfile.compute.spotQueue, prefix: "munin-"))[0].jobID
    let children = setup.compute.activeChildren(of: parent)
    let events = children.flatMap { setup.compute.complete($0, status: .succeeded) }.map { $0.encoded() }
    let steady = events.dropLast(2)  // the last child's event triggers condensation + teardown; the parent's too
    setup.counter.reset()
    let time = try seconds {
        for event in steady { _ = try JobEventsHandler.handle(event, services: setup.services) }
    }
    let writes = Double(setup.counter.stateWrites) / Double(steady.count)
    let reads = Double(setup.counter.count("state.get")) / Double(steady.count)
    setup.counter.reset()
    let tail = try seconds { for event in events.suffix(2) { _ = try JobEventsHandler.handle(event, services: setup.services) } }
    let name = local ? "LocalStateStore" : "InMemoryStateStore"
    rows.append("| Job events, steady state (\(steady.count) SUCCEEDED children), \(name) | \(fmt(time / Double(steady.count) * 1e6, 1)) µs/event | O(1) writes/event | \(fmt(writes, 2)) writes, \(fmt(reads, 2)) reads per event |")
    rows.append("| Job events, run completion (last child + parent: condensation, teardown), \(name) | \(fmt(tail * 1e3, 1)) ms for 2 events | — | \(setup.counter.stateWrites) writes, \(setup.counter.count("compute.listJobs")) ListJobs, \(setup.counter.count("compute.updateComputeEnvironment")) CE updates |")
}

print("## Odin control plane (issue 4)")
print()
print("| Measurement | Ours | Target | Port calls / notes |")
print("|---|---|---|---|")
rows.forEach { print($0) }
print()
print("Method: `odin-bench` (release build) drives the real ingest/job-events/sweeper code over the local binding (LocalCompute in manual mode, DirectoryObjectStore, in-memory and file-backed state stores); port calls are counted by wrapping the ports. No peer implements this control loop, so the figures are compared with the issue's targets; AWS round-trip latency is not included (each state write is one DynamoDB call). Wall-clock figures depend on the machine's load (it is shared with other builds); the call counts do not.")
for path in created { try? FileManager.default.removeItem(atPath: path) }
