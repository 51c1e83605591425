import Compression
import Events
import FoundationEssentials
import Odin
import OdinKit
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
/// work their manifest chunk holds (simulated seconds per image).
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

    struct Job {
        var id: String
        var name: String
        var queue: Int
        var status: BatchJobStatus = .runnable
        var reason: String?
        var parent: Int?
        var arrayIndex: Int?
        var children: Range<Int>?
        var terminalChildren = 0
        var failedChildren = 0
        var maxAttempts: Int
        var retryGlobs: [String]
        var vcpus: Int
        var tags: [String: String]
        var manifest: String
        var offset: Int
        var createdAt: Double
        var runnableSince: Double
        var startedAt: Double?
        var stoppedAt: Double?
        var attempts: [BatchJobDetail.Attempt] = []
        var instance: Int?
        var token = 0
        var attemptStart = 0.0
    }

    enum Timer { case ready(Int), done(job: Int, token: Int), interrupt(Int), wake }

    let profile: Profile
    let inputs: SimulationInputs
    let objects: any ObjectStore
    let queueNames: [String]
    let ceNames: [String]
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
    var epoch = 0.0
    var queueEnabled = [true, true]
    var ces: [ComputeEnvironmentInfo]
    var instances: [Instance] = []
    var liveInstances: [[Int]] = [[], []]
    var jobs: [Job] = []
    var topIndex: [String: Int] = [:]
    var topByQueue: [[Int]] = [[], []]
    var activeTop: [Set<Int>] = [[], []]
    var fifo: [[Int]] = [[], []]
    var fifoHead = [0, 0]
    var runnableVcpus = [0, 0]
    var runningVcpus = [0, 0]
    var runnableCount = 0
    var runningCount = 0
    var outbox: [BatchJobStateChange] = []
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
         onDemandPrice: Double) {
        self.profile = profile
        self.inputs = inputs
        self.objects = objects
        queueNames = [profile.compute.spotQueue, profile.compute.onDemandQueue]
        ceNames = [profile.compute.spotComputeEnvironment, profile.compute.onDemandComputeEnvironment]
        instanceVcpus = Int(profile.prices.vcpus[profile.compute.instanceTypes[0]] ?? Double(profile.compute.vcpusPerJob))
        secondsPerImage = inputs.secondsPerImage ?? profile.chunking.secondsPerImage
        self.spotPrice = spotPrice
        self.onDemandPrice = onDemandPrice
        random = SimRandom(seed: seed).derived(0x6261_7463)
        ces = ceNames.map { ComputeEnvironmentInfo(name: $0, isEnabled: true, minvCpus: 0, maxvCpus: 0, desiredvCpus: 0) }
    }

    var costPerHour: Double { Double(aliveInstances[0]) * spotPrice + Double(aliveInstances[1]) * onDemandPrice }
    var isDrained: Bool { runnableCount == 0 && runningCount == 0 }
    var fifoEmpty: Bool { runnableCount == 0 }
    var millis: Int64 { Int64(((epoch + now) * 1000).rounded(.down)) }
    func ms(_ t: Double) -> Int64 { Int64(((epoch + t) * 1000).rounded(.down)) }

    func queueIndex(_ name: String) throws -> Int {
        guard let index = queueNames.firstIndex(of: name) else { throw OdinError("simulated batch", "no job queue named \(name)") }
        return index
    }
    func ceIndex(_ name: String) throws -> Int {
        guard let index = ceNames.firstIndex(of: name) else {
            throw OdinError("simulated batch", "no compute environment named \(name)")
        }
        return index
    }

    func desired(_ ce: Int) -> Int {
        let info = ces[ce]
        let demand = runningVcpus[ce] + (queueEnabled[ce] && info.isEnabled ? runnableVcpus[ce] : 0)
        return max(info.minvCpus, min(info.maxvCpus, demand))
    }

    // MARK: - Compute port

    func describeQueues(_ names: [String]) throws -> [QueueInfo] {
        try names.map { QueueInfo(name: $0, isEnabled: queueEnabled[try queueIndex($0)]) }
    }

    func setQueueEnabled(_ name: String, _ enabled: Bool) throws { queueEnabled[try queueIndex(name)] = enabled }

    func describeComputeEnvironments(_ names: [String]) throws -> [ComputeEnvironmentInfo] {
        try names.map { name in
            let index = try ceIndex(name)
            var info = ces[index]
            info.desiredvCpus = desired(index)
            return info
        }
    }

    func updateComputeEnvironment(_ name: String, _ update: ComputeEnvironmentUpdate) throws {
        let index = try ceIndex(name)
        var ce = ces[index]
        let newMin = update.minvCpus ?? ce.minvCpus
        let newMax = update.maxvCpus ?? ce.maxvCpus
        guard newMin >= 0, newMin <= newMax else {
            throw OdinError("UpdateComputeEnvironment \(name)", "minvCpus \(newMin) must be in 0…maxvCpus \(newMax)")
        }
        let current = desired(index)
        guard newMax >= current else {
            throw OdinError("UpdateComputeEnvironment \(name)",
                            "maxvCpus \(newMax) is below desiredvCpus \(current); desiredvCpus cannot be lowered")
        }
        ce.minvCpus = newMin
        ce.maxvCpus = newMax
        if let enabled = update.isEnabled { ce.isEnabled = enabled }
        ces[index] = ce
    }

    func submitJob(_ submission: JobSubmission) throws -> String {
        let queue = try queueIndex(submission.queue)
        guard (1...10_000).contains(submission.arraySize) else {
            throw OdinError("SubmitJob \(submission.name)", "array size \(submission.arraySize) outside 1…10,000")
        }
        let id = "sim-\(topByQueue[0].count + topByQueue[1].count + 1)"
        let parentIndex = jobs.count
        let vcpus = submission.vcpus ?? 1
        var parent = Job(id: id, name: submission.name, queue: queue, maxAttempts: max(1, submission.attempts),
                         retryGlobs: submission.retryOnStatusReason, vcpus: vcpus, tags: submission.tags,
                         manifest: submission.environment["ODIN_MANIFEST"] ?? "",
                         offset: Int(submission.environment["ODIN_INDEX_OFFSET"] ?? "0") ?? 0, createdAt: now,
                         runnableSince: now)
        let isArray = submission.arraySize > 1
        if isArray { parent.children = (parentIndex + 1)..<(parentIndex + 1 + submission.arraySize) }
        jobs.append(parent)
        topIndex[id] = parentIndex
        topByQueue[queue].append(parentIndex)
        activeTop[queue].insert(parentIndex)
        if isArray {
            for index in 0..<submission.arraySize {
                var child = parent
                child.id = "\(id):\(index)"
                child.children = nil
                child.parent = parentIndex
                child.arrayIndex = index
                jobs.append(child)
                enqueue(jobs.count - 1)
            }
            childrenSubmitted[queue] += submission.arraySize
        } else {
            enqueue(parentIndex)
            childrenSubmitted[queue] += 1
        }
        return id
    }

    func listJobs(_ filter: JobFilter) throws -> [JobSummary] {
        switch filter {
        case .queue(let name, let status):
            let queue = try queueIndex(name)
            let pool = status.isTerminal ? topByQueue[queue] : Array(activeTop[queue])
            return pool.sorted().filter { jobs[$0].status == status }.map(summary)
        case .arrayChildren(let parentID, let status):
            guard let parent = topIndex[parentID], let range = jobs[parent].children else { return [] }
            return range.filter { jobs[$0].status == status }.map(summary)
        case .namePrefix(let name, let prefix):
            let queue = try queueIndex(name)
            return topByQueue[queue].filter { jobs[$0].name.hasPrefix(prefix) }.map(summary)
        }
    }

    func describeJobs(_ jobIDs: [String]) throws -> [BatchJobDetail] {
        guard jobIDs.count <= 100 else { throw OdinError("DescribeJobs", "at most 100 job ids per call") }
        return jobIDs.compactMap { lookup($0).map(detail) }
    }

    func terminateJob(_ jobID: String, reason: String) throws { stop(jobID, reason: reason, running: true) }
    func cancelJob(_ jobID: String, reason: String) throws { stop(jobID, reason: reason, running: false) }

    // MARK: - Jobs

    func lookup(_ id: String) -> Int? {
        if let index = topIndex[id] { return index }
        guard let colon = id.lastIndex(of: ":"), let parent = topIndex[String(id[..<colon])],
              let position = Int(id[id.index(after: colon)...]), let range = jobs[parent].children,
              position >= 0, position < range.count else { return nil }
        return range.lowerBound + position
    }

    func summary(_ index: Int) -> JobSummary {
        let job = jobs[index]
        return JobSummary(jobID: job.id, jobName: job.name, status: job.status, statusReason: job.reason,
                          arrayIndex: job.arrayIndex, arraySize: job.children?.count, createdAt: ms(job.createdAt),
                          startedAt: job.startedAt.map(ms), stoppedAt: job.stoppedAt.map(ms))
    }

    func detail(_ index: Int) -> BatchJobDetail {
        let job = jobs[index]
        var properties: BatchJobDetail.ArrayProperties?
        if let range = job.children { properties = .init(size: range.count) }
        if let position = job.arrayIndex { properties = .init(index: position) }
        return BatchJobDetail(jobArn: "arn:sim:batch:job/\(job.id)", jobName: job.name, jobId: job.id,
                              jobQueue: queueNames[job.queue], status: job.status, statusReason: job.reason,
                              attempts: job.attempts, createdAt: ms(job.createdAt), startedAt: job.startedAt.map(ms),
                              stoppedAt: job.stoppedAt.map(ms),
                              container: .init(resourceRequirements: [.init(type: "VCPU", value: String(job.vcpus))]),
                              arrayProperties: properties, tags: job.tags)
    }

    func emit(_ index: Int) { outbox.append(BatchJobStateChange(detail: detail(index))) }

    func enqueue(_ index: Int) {
        let queue = jobs[index].queue
        jobs[index].status = .runnable
        jobs[index].runnableSince = now
        fifo[queue].append(index)
        runnableVcpus[queue] += jobs[index].vcpus
        runnableCount += 1
    }

    /// Leaves RUNNABLE (the FIFO entry is skipped lazily).
    func leaveRunnable(_ index: Int) {
        runnableVcpus[jobs[index].queue] -= jobs[index].vcpus
        runnableCount -= 1
    }

    func finish(_ index: Int, _ status: BatchJobStatus, reason: String?) {
        jobs[index].status = status
        jobs[index].reason = reason
        jobs[index].stoppedAt = now
        emit(index)
        if let parent = jobs[index].parent {
            jobs[parent].terminalChildren += 1
            if status == .failed { jobs[parent].failedChildren += 1 }
            if let range = jobs[parent].children, jobs[parent].terminalChildren == range.count {
                var summary: [String: Int] = [:]
                for child in range { summary[jobs[child].status.rawValue, default: 0] += 1 }
                jobs[parent].status = jobs[parent].failedChildren == 0 ? .succeeded : .failed
                jobs[parent].reason = jobs[parent].failedChildren == 0 ? nil : "Array Child Job failed"
                jobs[parent].stoppedAt = now
                activeTop[jobs[parent].queue].remove(parent)
                emit(parent)
            }
        } else {
            activeTop[jobs[index].queue].remove(index)
        }
    }

    func stop(_ jobID: String, reason: String, running: Bool) {
        guard let index = lookup(jobID) else { return }
        let targets = jobs[index].children.map(Array.init) ?? [index]
        for target in targets where !jobs[target].status.isTerminal {
            if jobs[target].status == .running {
                guard running else { continue }
                endAttempt(target, reason: reason)
                finish(target, .failed, reason: reason)
            } else {
                leaveRunnable(target)
                finish(target, .failed, reason: reason)
            }
        }
    }

    /// Ends the current attempt of a RUNNING job: frees its slot and records the attempt.
    func endAttempt(_ index: Int, reason: String?) {
        let job = jobs[index]
        guard let instance = job.instance else { return }
        jobs[index].attempts.append(.init(container: .init(exitCode: reason == nil ? 0 : 1), startedAt: ms(job.attemptStart),
                                          stoppedAt: millis, statusReason: reason))
        jobs[index].instance = nil
        jobs[index].token += 1
        running[instance]?.remove(index)
        let ce = instances[instance].ce
        workVcpuSeconds[ce] += (now - job.attemptStart) * Double(job.vcpus)
        runningVcpus[ce] -= job.vcpus
        runningCount -= 1
        instances[instance].busy -= 1
        if instances[instance].busy == 0 && instances[instance].alive {
            instances[instance].idleSince = now
            scheduleTimer(now + inputs.batchScaleDownSeconds, .wake)
        }
    }

    /// Seconds of work of a job's chunk (from its manifest line, cached per manifest).
    func work(_ index: Int) -> Double {
        let job = jobs[index]
        if workCache[job.manifest] == nil { workCache[job.manifest] = manifestWork(job.manifest) }
        let line = job.offset + (job.arrayIndex ?? 0)
        let lines = workCache[job.manifest]!
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
            guard jobs[index].token == token, jobs[index].status == .running else { return }
            endAttempt(index, reason: nil)
            finish(index, .succeeded, reason: "Essential container in task exited")
        case .interrupt(let id):
            guard instances[id].alive else { return }
            let reason = "Host EC2 (instance i-sim\(id)) terminated."
            for index in runningJobs(on: id) {
                endAttempt(index, reason: reason)
                attemptsReclaimed += 1
                let job = jobs[index]
                if job.attempts.count < job.maxAttempts && job.retryGlobs.contains(where: { glob($0, reason) }) {
                    enqueue(index)
                } else {
                    finish(index, .failed, reason: reason)
                }
            }
            terminate(id)
        }
    }

    var running: [Int: Set<Int>] = [:]
    func runningJobs(on instance: Int) -> [Int] { Array(running[instance] ?? []).sorted() }

    func glob(_ pattern: String, _ text: String) -> Bool {
        pattern.hasSuffix("*") ? text.hasPrefix(pattern.dropLast()) : pattern == text
    }

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
                guard jobs[index].status == .runnable else { continue }
                if now - jobs[index].runnableSince >= limit {
                    leaveRunnable(index)
                    finish(index, .failed, reason: "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for instance type [\(profile.compute.instanceTypes[0])]")
                } else {
                    earliest = min(earliest, jobs[index].runnableSince + limit)
                }
            }
            if earliest.isFinite { scheduleTimer(earliest, .wake) }
        }
        for ce in 0..<2 {
            let info = ces[ce]
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
            guard queueEnabled[ce] && info.isEnabled else { continue }
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
            if jobs[index].status == .runnable { return index }
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
        leaveRunnable(index)
        let ce = instances[instance].ce
        jobs[index].status = .running
        jobs[index].instance = instance
        jobs[index].attemptStart = now
        if jobs[index].startedAt == nil { jobs[index].startedAt = now }
        running[instance, default: []].insert(index)
        instances[instance].busy += 1
        instances[instance].idleSince = nil
        runningVcpus[ce] += jobs[index].vcpus
        runningCount += 1
        let duration = inputs.jobStartSeconds + work(index)
        scheduleTimer(now + duration, .done(job: index, token: jobs[index].token))
        if jobs[index].attempts.isEmpty { emit(index) }  // RUNNING (the rule passes RUNNING for the warm reset)
        if let parent = jobs[index].parent, jobs[parent].status == .runnable {
            jobs[parent].status = .running
            jobs[parent].startedAt = now
        }
    }
}
