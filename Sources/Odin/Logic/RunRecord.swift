import OdinKit

/// A run as recorded in the state store (`run#<id>|meta`) and mirrored in `runs|<id>`.
public struct RunRecord: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable, CaseIterable {
        /// Sealed from a collecting window, objects being claimed.
        case sealing
        /// Manifest written; array job(s) being submitted.
        case submitting
        /// Pacing left no budget to open capacity; the sweeper submits when it can.
        case waitingForBudget = "waiting_for_budget"
        case running
        /// Every chunk terminal; Hugin condensation started.
        case condensing
        case done
        /// Condensation (the Hugin job) failed; Stage 1 results are kept and `odin resume RUN` condenses again.
        case failed
        /// The budget guard stopped it; `odin resume RUN` continues it.
        case stoppedByBudget = "stopped_by_budget"
    }

    /// A job submitted for the run.
    public struct JobRef: Sendable, Equatable {
        public var jobID: String
        /// `chunks`, `fallback`, `resume` or `condense`.
        public var kind: String
        public var queue: String
        public var offset: Int
        public var size: Int
        public var generation: Int64?

        public init(jobID: String, kind: String, queue: String, offset: Int, size: Int, generation: Int64? = nil) {
            self.jobID = jobID
            self.kind = kind
            self.queue = queue
            self.offset = offset
            self.size = size
            self.generation = generation
        }

        var stateValue: StateValue {
            var map: [String: StateValue] = ["jobID": .string(jobID), "kind": .string(kind), "queue": .string(queue),
                                             "offset": .int(Int64(offset)), "size": .int(Int64(size))]
            if let generation { map["generation"] = .int(generation) }
            return .map(map)
        }

        init?(_ value: StateValue) {
            guard case .map(let map) = value, let id = map["jobID"]?.stringValue else { return nil }
            jobID = id
            kind = map["kind"]?.stringValue ?? "chunks"
            queue = map["queue"]?.stringValue ?? ""
            offset = Int(map["offset"]?.intValue ?? 0)
            size = Int(map["size"]?.intValue ?? 1)
            generation = map["generation"]?.intValue
        }
    }

    public var runID: String
    public var cameraID: String
    public var status: Status
    public var createdAt: String
    public var objectCount: Int
    public var chunkCount: Int
    public var manifestKey: String
    public var jobs: [JobRef]
    public var failedChunks: [Int]
    public var completedAt: String?
    /// Why `budget.quote_before_run` held the run (nil when it was not held).
    public var quoteRefusal: String?
    /// Seconds of detector work the profile's assumptions give the run's objects (set when sealed).
    public var estimatedWorkSeconds: Double?
    /// The camera's `odin run --priority` request when the run was sealed (nil: the functions' default,
    /// ODIN_PRIORITY). Every job of the run is submitted with it.
    public var priority: RunPriority?
    public var version: Int64

    public init(runID: String, cameraID: String, status: Status, createdAt: String, objectCount: Int = 0,
                chunkCount: Int = 0, manifestKey: String, jobs: [JobRef] = [], failedChunks: [Int] = [],
                completedAt: String? = nil, version: Int64 = 0) {
        self.runID = runID
        self.cameraID = cameraID
        self.status = status
        self.createdAt = createdAt
        self.objectCount = objectCount
        self.chunkCount = chunkCount
        self.manifestKey = manifestKey
        self.jobs = jobs
        self.failedChunks = failedChunks
        self.completedAt = completedAt
        self.version = version
    }

    var item: StateItem {
        var attributes: [String: StateValue] = [
            "runID": .string(runID), "camera": .string(cameraID), "status": .string(status.rawValue),
            "createdAt": .string(createdAt), "objects": .int(Int64(objectCount)), "chunks": .int(Int64(chunkCount)),
            "manifest": .string(manifestKey), "jobs": .list(jobs.map(\.stateValue)),
            "failedChunks": .list(failedChunks.map { .int(Int64($0)) }), "version": .int(version),
        ]
        if let completedAt { attributes["completedAt"] = .string(completedAt) }
        if let quoteRefusal { attributes["quoteRefusal"] = .string(quoteRefusal) }
        if let estimatedWorkSeconds { attributes["workSeconds"] = .double(estimatedWorkSeconds) }
        if let priority { attributes["priority"] = .string(priority.rawValue) }
        return StateItem(key: Schema.runMeta(runID), attributes: attributes)
    }

    init(_ item: StateItem) throws {
        guard let id = item["runID"]?.stringValue, let raw = item["status"]?.stringValue,
              let status = Status(rawValue: raw)
        else { throw StateStoreError(.corrupt, key: item.key.description, "run record without runID/status") }
        runID = id
        cameraID = item["camera"]?.stringValue ?? ""
        self.status = status
        createdAt = item["createdAt"]?.stringValue ?? ""
        objectCount = Int(item["objects"]?.intValue ?? 0)
        chunkCount = Int(item["chunks"]?.intValue ?? 0)
        manifestKey = item["manifest"]?.stringValue ?? StoreLayout.manifestKey(run: id)
        jobs = (item["jobs"]?.listValue ?? []).compactMap(JobRef.init)
        failedChunks = (item["failedChunks"]?.listValue ?? []).compactMap { $0.intValue.map(Int.init) }
        completedAt = item["completedAt"]?.stringValue
        quoteRefusal = item["quoteRefusal"]?.stringValue
        estimatedWorkSeconds = item["workSeconds"]?.doubleValue
        priority = item["priority"]?.stringValue.flatMap(RunPriority.init(rawValue:))
        version = item["version"]?.intValue ?? 0
    }

    /// Reads a run.
    public static func load(_ runID: String, state: any StateStore) throws -> RunRecord? {
        try state.get(Schema.runMeta(runID)).map(RunRecord.init)
    }

    /// Writes `self` if nobody changed the record since it was read (optimistic concurrency on `version`), and
    /// mirrors the status into the run index, in one transaction (the index never disagrees with the record).
    /// - Parameter extra: more writes that must commit with this version of the record.
    func save(state: any StateStore, with extra: [StateWrite] = []) throws -> RunRecord {
        var next = self
        next.version = version + 1
        let index = StateItem(key: Schema.runIndex(runID),
                              attributes: ["status": .string(next.status.rawValue), "camera": .string(cameraID),
                                           "createdAt": .string(createdAt), "chunks": .int(Int64(chunkCount))])
        try state.transact([.put(next.item, version == 0 ? .itemAbsent : .equals("version", .int(version))),
                            .put(index, .always)] + extra)
        return next
    }

    /// Read-modify-write with retries on concurrent changes.
    @discardableResult
    static func modify(_ runID: String, state: any StateStore,
                       _ change: (inout RunRecord) throws -> Void) throws -> RunRecord {
        for _ in 0..<20 {
            guard var record = try load(runID, state: state) else {
                throw OdinError("run \(runID)", "no run record")
            }
            let before = record
            try change(&record)
            if record == before { return record }
            do {
                return try record.save(state: state)
            } catch let error as StateStoreError where error.isConditionFailure {
                continue
            }
        }
        throw OdinError("run \(runID)", "run record kept changing under 20 attempts to update it")
    }
}

extension RunRecord.JobRef {
    /// The item a job event finds its run by (`Schema.job`): what RunSubmitter and the fallback write per job.
    func lookupItem(runID: String) -> StateItem {
        var attributes: [String: StateValue] = ["runID": .string(runID), "kind": .string(kind),
                                                "offset": .int(Int64(offset))]
        if let generation { attributes["generation"] = .int(generation) }
        return StateItem(key: Schema.job(jobID), attributes: attributes)
    }
}

extension RunRecord {
    /// Records `self` as a run whose jobs were submitted, with the writes ingest and RunSubmitter leave: the record
    /// and its `runs|<id>` index entry (through `save`, as every change of a run), its active-runs entry and the
    /// lookup item of each of its jobs, in one transaction. A record of the same id is replaced, so recording twice
    /// is safe. For a state table that events are replayed against (`odin replay --seed-local`) and for tests.
    /// - Parameter now: epoch seconds, the active-runs entry's `since`.
    /// - Returns: the record as written (its `version` advanced).
    @discardableResult
    package func recordSubmitted(state: any StateStore, now: Int64) throws -> RunRecord {
        var record = self
        record.version = try RunRecord.load(runID, state: state)?.version ?? 0
        let active = StateItem(key: Schema.activeRun(runID), attributes: ["since": .int(now)])
        return try record.save(state: state, with: [.put(active, .always)]
                               + jobs.map { .put($0.lookupItem(runID: runID), .always) })
    }
}
