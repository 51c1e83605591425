import Compression
import Events
import FoundationEssentials
import Odin
import OdinKit
import OdinLocal
import Synchronization

/// An in-memory object store for the simulator (manifests only; the simulator uploads no media bytes).
final class MemoryObjectStore: ObjectStore {
    private let objects = Mutex<[String: [UInt8]]>([:])
    var rootURI: String { "memory://simulator" }
    func get(_ key: String) throws -> [UInt8] {
        guard let bytes = objects.withLock({ $0[key] }) else { throw ObjectStoreError(.notFound, key: key, "no such object") }
        return bytes
    }
    func get(_ key: String, range: Range<Int64>) throws -> [UInt8] {
        let bytes = try get(key)
        let low = Int(max(0, range.lowerBound)), high = Int(min(Int64(bytes.count), range.upperBound))
        return low < high ? Array(bytes[low..<high]) : []
    }
    func head(_ key: String) throws -> ObjectInfo? {
        objects.withLock { $0[key].map { ObjectInfo(key: key, size: Int64($0.count)) } }
    }
    @discardableResult
    func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
        try objects.withLock { store in
            if ifAbsent && store[key] != nil { throw ObjectStoreError(.preconditionFailed, key: key, "exists") }
            store[key] = bytes
        }
        return ObjectInfo(key: key, size: Int64(bytes.count))
    }
    func upload(file path: String, to key: String) throws -> ObjectInfo {
        throw ObjectStoreError(.io, key: key, "the simulator's object store takes no files")
    }
    func download(_ key: String, to path: String) throws {
        throw ObjectStoreError(.io, key: key, "the simulator's object store writes no files")
    }
    func list(prefix: String) throws -> [ObjectInfo] {
        objects.withLock { store in
            store.filter { $0.key.hasPrefix(prefix) }.map { ObjectInfo(key: $0.key, size: Int64($0.value.count)) }
                .sorted { $0.key < $1.key }
        }
    }
    func delete(_ key: String) throws { objects.withLock { _ = $0.removeValue(forKey: key) } }
}

/// The simulated AWS Batch behind the compute port: two queues each feeding one compute environment (Spot, On-Demand),
/// instances with a scale-up latency, Spot interruptions, Spot capacity gaps with the queue's RUNNABLE time limit,
/// in-queue retries by the job's retry strategy, array parents, and Batch's own idle scale-down. Jobs run for the
/// work their manifest chunk holds (simulated seconds per image). Job states, attempts, retries, array parents and
/// events are Odin's `BatchStateMachine` (shared with the local binding); this model adds instances and time.
///
/// Batch semantics kept (aws-batch-facts.md §1.2–1.7): desiredvCpus = vCPUs of RUNNING + RUNNABLE jobs clamped to
/// [min, max] and maxvCpus can't go below it; a DISABLED queue or CE starts nothing new; idle instances above
/// minvCpus stop after `batch_scale_down`, instances above maxvCpus stop when idle.
///
/// Confined to the simulator's single thread (hence `@unchecked Sendable`; the port requires Sendable).
final class SimulatedBatch: Compute, @unchecked Sendable {
    struct Instance {
        var ce: Int
        var vcpus: Int
        var slots: Int
        var busy = 0
        var launchedAt: Double
        var readyAt: Double
        var idleSince: Double?
        var alive = true
    }

    enum Timer { case ready(Int), done(job: Int, token: Int), interrupt(Int), wake }

    static let binding = "simulated batch"

    let profile: Profile
    let inputs: SimulationInputs
    let objects: any ObjectStore
    let instanceVcpus: Int
    let secondsPerImage: Double
    let spotPrice: Double
    let onDemandPrice: Double
    /// Per queue: RUNNABLE time limit (seconds) applied while capacity is insufficient; nil = none.
    var runnableTimeLimit: [Double?] = [nil, nil]
    var random: SimRandom
    /// Called for each timer the model needs (the simulator's event queue).
    var scheduleTimer: (Double, Timer) -> Void = { _, _ in }
    /// Returns true when a kill-switch is active at a job start (an invariant violation is counted).
    var killSwitchActive: () -> Bool = { false }

    var now = 0.0
    /// Jobs, queues and compute environments (queue i feeds compute environment i: 0 Spot, 1 On-Demand).
    var machine: BatchStateMachine
    var instances: [Instance] = []
    var liveInstances: [[Int]] = [[], []]
    /// Per job index: the instance of its running attempt, and the attempt's token (stale `done` timers are ignored).
    var jobInstance: [Int?] = []
    var jobToken: [Int] = []
    var fifo: [[Int]] = [[], []]
    var fifoHead = [0, 0]
    var workCache: [String: [Double]] = [:]

    // Accounting
    var aliveVcpus = [0, 0]
    var aliveInstances = [0, 0]
    var workVcpuSeconds = [0.0, 0.0]
    var attemptsReclaimed = 0
    var killSwitchViolations = 0
    var childrenSubmitted = [0, 0]
    var instancesLaunched = [0, 0]
    var tailCost = 0.0
    var tailIdleVcpuSeconds = 0.0

    init(profile: Profile, inputs: SimulationInputs, objects: any ObjectStore, seed: UInt64, spotPrice: Double,
         onDemandPrice: Double, epoch: Double) {
        self.profile = profile
        self.inputs = inputs
        self.objects = objects
        instanceVcpus = Int(profile.prices.vcpus[profile.compute.instanceTypes[0]] ?? Double(profile.compute.vcpusPerJob))
        secondsPerImage = inputs.secondsPerImage ?? profile.chunking.secondsPerImage
        self.spotPrice = spotPrice
        self.onDemandPrice = onDemandPrice
        random = SimRandom(seed: seed).derived(0x6261_7463)
        machine = BatchStateMachine(queues: [profile.compute.spotQueue, profile.compute.onDemandQueue],
                                  computeEnvironments: [profile.compute.spotComputeEnvironment,
                                                        profile.compute.onDemandComputeEnvironment],
                                  arnPartition: "sim", epoch: epoch, eventFilter: .terminalAndFirstRunning)
    }

    var costPerHour: Double { Double(aliveInstances[0]) * spotPrice + Double(aliveInstances[1]) * onDemandPrice }
    var isDrained: Bool { machine.runnableCount == 0 && machine.runningCount == 0 }
    var runnableCount: Int { machine.runnableCount }
    var runningCount: Int { machine.runningCount }

    func desired(_ ce: Int) -> Int {
        let info = machine.environments[ce]
        let demand = machine.runningVcpus[ce] + (machine.queueEnabled[ce] && info.isEnabled ? machine.runnableVcpus[ce] : 0)
        return max(info.minvCpus, min(info.maxvCpus, demand))
    }

    // MARK: - Compute port

    func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        try names.map { QueueInfo(name: $0, isEnabled: machine.queueEnabled[try machine.queueIndex($0, binding: Self.binding)]) }
    }

    func setQueueEnabled(_ name: String, _ enabled: Bool) throws {
        machine.queueEnabled[try machine.queueIndex(name, binding: Self.binding)] = enabled
    }

    func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        try names.map { name in
            let index = try machine.environmentIndex(name, binding: Self.binding)
            var info = machine.environments[index]
            info.desiredvCpus = desired(index)
            return info
        }
    }

    func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        let index = try machine.environmentIndex(name, binding: Self.binding)
        try machine.update(environment: index, update, desired: desired(index))
    }

    func submitJob(_ submission: JobSubmission) throws -> String {
        let queue = try machine.queueIndex(submission.queue, binding: Self.binding)
        let id = "sim-\(machine.topCount + 1)"
        let index = try machine.submit(submission, id: id, queue: queue, priority: 0, at: now)
        let leaves = machine.jobs[index].children ?? index..<(index + 1)
        jobInstance.append(contentsOf: repeatElement(Int?.none, count: machine.jobs.count - jobInstance.count))
        jobToken.append(contentsOf: repeatElement(0, count: machine.jobs.count - jobToken.count))
        fifo[queue].append(contentsOf: leaves)
        childrenSubmitted[queue] += leaves.count
        return id
    }

    func listJobs(_ filter: JobFilter) throws -> [JobSummary] { machine.list(filter) }

    func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] { try machine.describe(jobIDs) }

    func terminateJob(_ jobID: String, reason: String) throws { stop(jobID, reason: reason, running: true) }
    func cancelJob(_ jobID: String, reason: String) throws { stop(jobID, reason: reason, running: false) }

    // MARK: - Jobs

    func stop(_ jobID: String, reason: String, running: Bool) {
        for target in machine.stopTargets(jobID) where !machine.jobs[target].status.isTerminal {
            if machine.jobs[target].status == .running {
                guard running else { continue }
                endAttempt(target, reason: reason)
                machine.finish(target, .failed, reason: reason, at: now)
            } else {
                machine.cancelRunnable(target, reason: reason, at: now)
            }
        }
    }

    /// Ends the current attempt of a RUNNING job: frees its slot and records the attempt.
    func endAttempt(_ index: Int, reason: String?) {
        guard let instance = jobInstance[index] else { return }
        let job = machine.jobs[index]
        machine.endAttempt(index, at: now, exitCode: reason == nil ? 0 : 1, reason: reason)
        jobInstance[index] = nil
        jobToken[index] += 1
        running[instance]?.remove(index)
        let ce = instances[instance].ce
        workVcpuSeconds[ce] += (now - job.attemptStart) * Double(job.vcpus)
        instances[instance].busy -= 1
        if instances[instance].busy == 0 && instances[instance].alive {
            instances[instance].idleSince = now
            scheduleTimer(now + inputs.batchScaleDownSeconds, .wake)
        }
    }

    /// Seconds of work of a job's chunk (from its manifest line, cached per manifest).
    func work(_ index: Int) -> Double {
        let job = machine.jobs[index]
        let manifest = job.environment["ODIN_MANIFEST"] ?? ""
        let offset = Int(job.environment["ODIN_INDEX_OFFSET"] ?? "0") ?? 0
        if workCache[manifest] == nil { workCache[manifest] = manifestWork(manifest) }
        let line = offset + (job.arrayIndex ?? 0)
        let lines = workCache[manifest]!
        return line < lines.count ? lines[line] : secondsPerImage
    }

    /// Work per manifest line: image lines by counting their items (a byte scan for `"key":`), lines with a video
    /// segment decoded in full.
    func manifestWork(_ key: String) -> [Double] {
        guard let bytes = try? objects.get(key), let text = try? Gzip.decompress(bytes) else { return [] }
        let chunking = profile.chunking
        let needle = Array(#""key":"#.utf8)
        let segment = Array(#""segment""#.utf8)
        var result: [Double] = []
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let count = occurrences(needle, in: line)
            if occurrences(segment, in: line) > 0, let chunk = try? JSONDecoder().decode(Chunk.self, from: Data(line)) {
                result.append(chunk.items.reduce(0.0) { total, item in
                    guard let part = item.segment else { return total + self.secondsPerImage }
                    return total + Double(item.size) / chunking.videoBytesPerSecond *
                        chunking.workSecondsPerVideoSecond / Double(part.count)
                })
            } else {
                result.append(Double(count) * secondsPerImage)
            }
        }
        return result
    }

    func occurrences(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int {
        var count = 0
        var i = haystack.startIndex
        let last = haystack.endIndex - needle.count
        guard last >= i else { return 0 }
        while i <= last {
            if haystack[i] == needle[0] {
                var match = true
                for k in 1..<needle.count where haystack[i + k] != needle[k] {
                    match = false
                    break
                }
                if match {
                    count += 1
                    i += needle.count
                    continue
                }
            }
            i += 1
        }
        return count
    }

    // MARK: - Timers

    func handle(_ timer: Timer) {
        switch timer {
        case .ready: break
        case .wake: break
        case .done(let index, let token):
            guard jobToken[index] == token, machine.jobs[index].status == .running else { return }
            endAttempt(index, reason: nil)
            machine.finish(index, .succeeded, reason: "Essential container in task exited", at: now)
        case .interrupt(let id):
            guard instances[id].alive else { return }
            let reason = "Host EC2 (instance i-sim\(id)) terminated."
            for index in runningJobs(on: id) {
                endAttempt(index, reason: reason)
                attemptsReclaimed += 1
                if machine.retryOrFail(index, reason: reason, at: now) { fifo[machine.jobs[index].queue].append(index) }
            }
            terminate(id)
        }
    }

    var running: [Int: Set<Int>] = [:]
    func runningJobs(on instance: Int) -> [Int] { Array(running[instance] ?? []).sorted() }

    func terminate(_ id: Int) {
        guard instances[id].alive else { return }
        instances[id].alive = false
        let ce = instances[id].ce
        aliveVcpus[ce] -= instances[id].vcpus
        aliveInstances[ce] -= 1
        liveInstances[ce].removeAll { $0 == id }
        running[id] = nil
        // Billing continues until the instance is gone.
        let seconds = inputs.terminateSeconds
        tailCost += (ce == 0 ? spotPrice : onDemandPrice) * seconds / 3600
        if isDrained { tailIdleVcpuSeconds += Double(instances[id].vcpus) * seconds }
    }

    // MARK: - Scheduling

    /// Applies Batch's behaviour at `now`: time-limit cancels, scale-in, scale-out, job placement.
    func step() {
        let gap = inputs.inGap(now)
        // RUNNABLE time limit (jobStateTimeLimitActions) while Spot capacity is insufficient.
        for queue in 0..<2 {
            guard let limit = runnableTimeLimit[queue], queue == 0 && gap else { continue }
            var earliest = Double.infinity
            for position in fifoHead[queue]..<fifo[queue].count {
                let index = fifo[queue][position]
                guard machine.jobs[index].status == .runnable else { continue }
                if now - machine.jobs[index].runnableSince >= limit {
                    machine.cancelRunnable(index, reason: "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for instance type [\(profile.compute.instanceTypes[0])]", at: now)
                } else {
                    earliest = min(earliest, machine.jobs[index].runnableSince + limit)
                }
            }
            if earliest.isFinite { scheduleTimer(earliest, .wake) }
        }
        for ce in 0..<2 {
            let info = machine.environments[ce]
            let target = desired(ce)
            // Scale in: above maxvCpus (idle first), or idle past Batch's scale-down delay above the target.
            // (Batch may overshoot maxvCpus by up to one instance, so only instances wholly above it stop.)
            for id in liveInstances[ce] where aliveVcpus[ce] - instances[id].vcpus >= info.maxvCpus &&
                aliveVcpus[ce] > info.maxvCpus && instances[id].busy == 0 {
                terminate(id)
            }
            for id in liveInstances[ce] where instances[id].busy == 0 {
                guard let idle = instances[id].idleSince, now - idle >= inputs.batchScaleDownSeconds,
                      aliveVcpus[ce] - instances[id].vcpus >= target else { continue }
                terminate(id)
            }
            // Scale out.
            let canLaunch = info.isEnabled && !(ce == 0 && gap)
            while canLaunch && aliveVcpus[ce] < target {
                launch(ce)
            }
            // Placement.
            guard machine.queueEnabled[ce] && info.isEnabled else { continue }
            for id in liveInstances[ce] where instances[id].readyAt <= now {
                while instances[id].busy < instances[id].slots, let next = nextRunnable(ce) {
                    start(next, on: id)
                }
            }
        }
    }

    func nextRunnable(_ queue: Int) -> Int? {
        while fifoHead[queue] < fifo[queue].count {
            let index = fifo[queue][fifoHead[queue]]
            fifoHead[queue] += 1
            if machine.jobs[index].status == .runnable { return index }
        }
        if fifoHead[queue] > 4096 {
            fifo[queue].removeFirst(fifoHead[queue])
            fifoHead[queue] = 0
        }
        return nil
    }

    func launch(_ ce: Int) {
        let latency = random.uniform(inputs.scaleUpLow, inputs.scaleUpHigh)
        let slots = max(1, instanceVcpus / max(1, profile.compute.vcpusPerJob))
        instances.append(Instance(ce: ce, vcpus: instanceVcpus, slots: slots, launchedAt: now, readyAt: now + latency,
                                  idleSince: now + latency))
        let id = instances.count - 1
        liveInstances[ce].append(id)
        aliveVcpus[ce] += instanceVcpus
        aliveInstances[ce] += 1
        instancesLaunched[ce] += 1
        scheduleTimer(now + latency, .ready(id))
        scheduleTimer(now + latency + inputs.batchScaleDownSeconds, .wake)
        if ce == 0 {
            let life = random.exponential(rate: inputs.interruptionsPerHour / 3600)
            if life.isFinite { scheduleTimer(now + life, .interrupt(id)) }
        }
    }

    func start(_ index: Int, on instance: Int) {
        if killSwitchActive() { killSwitchViolations += 1 }
        machine.start(index, at: now)
        jobInstance[index] = instance
        running[instance, default: []].insert(index)
        instances[instance].busy += 1
        instances[instance].idleSince = nil
        let duration = inputs.jobStartSeconds + work(index)
        scheduleTimer(now + duration, .done(job: index, token: jobToken[index]))
    }
}
