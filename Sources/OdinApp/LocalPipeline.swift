import Compression
import Events
import Foundation
import Hugin
import Odin
import OdinBasics
import OdinKit
import OdinLocal

/// The whole pipeline on this machine: Odin's local binding (a folder as the bucket, a state folder, LocalCompute
/// running `munin-worker` per array child with the job contract ODIN_STORE, ODIN_RUN_ID, ODIN_MANIFEST,
/// ODIN_INDEX_OFFSET, AWS_BATCH_JOB_ARRAY_INDEX), with Hugin's condensation in-process when
/// Odin's condensation port fires. The control logic is the one the Lambda functions run.
package final class LocalPipeline {
    package struct Options {
        package var root: String
        package var profile: Profile
        package var faults: LocalCompute.Faults
        /// The `munin-worker` executable run per array child.
        package var worker: String
        /// This process's environment (snapshot): the workers get its PATH, HOME and MUNIN_* variables.
        package var environment: [String: String]
        /// Log the control logic's and Hugin's lines (JSON) to the feedback.
        package var verbose: Bool
        package var feedback: Feedback

        package init(root: String, profile: Profile, faults: LocalCompute.Faults = .init(), worker: String,
                     environment: [String: String], verbose: Bool = false, feedback: Feedback = .silent) {
            self.root = root
            self.profile = profile
            self.faults = faults
            self.worker = worker
            self.environment = environment
            self.verbose = verbose
            self.feedback = feedback
        }
    }

    /// One input file placed in the store.
    package struct StagedFile: Sendable {
        package var source: String
        package var key: String
        package var size: Int64
    }

    package let options: Options
    package let binding: LocalBinding
    let condensationFailures = LockedList()
    /// Runs whose condensation failed in this process (they do not hold later runs back: `CondensationOrder`).
    let failedCondensations = LockedList()

    package init(_ options: Options) throws {
        var options = options
        // Every upload is in before ingest runs, so windows may seal at once (on AWS, settle_seconds waits for more).
        options.profile.ingest.settleSeconds = 0
        self.options = options
        let root = (options.root as NSString).standardizingPath
        let absoluteRoot = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        try FileManager.default.createDirectory(atPath: absoluteRoot, withIntermediateDirectories: true)
        let objects = try DirectoryObjectStore(root: absoluteRoot + "/store")
        let state = try LocalStateStore(root: absoluteRoot + "/state")
        let profile = options.profile
        let failures = condensationFailures
        let failedRuns = failedCondensations
        let verbose = options.verbose
        let note = options.feedback.note
        // Hugin in-process (the runs here are small; on AWS large runs go to a Batch job), one run after the other in
        // the order they were sealed (a later run's condensation is deferred until then: `CondensationOrder`).
        let condensation = InProcessCondensation { request in
            try CondensationOrder.check(request.runID, state: state, skipping: Set(failedRuns.all))
            let hugin = Self.condensationOptions(profile)
            do {
                let summary = try Condenser(options: hugin, store: objects)
                    .condense(run: request.runID, failedChunks: request.failedChunks)
                if verbose { note("hugin: \(summary.paragraph)") }
            } catch {
                failures.append("run \(request.runID): \(error)")
                failedRuns.append(request.runID)
                throw error
            }
        }
        var environment: [String: String] = ["PATH": options.environment["PATH"] ?? "/usr/bin:/bin"]
        for (key, value) in options.environment where key.hasPrefix("MUNIN_") || key == "HOME" {
            environment[key] = value
        }
        let log = verbose ? Logger(level: .info) { note($0.jsonLine) } : .silent
        binding = try LocalBinding.make(
            root: absoluteRoot, profile: profile, worker: [options.worker],
            workerEnvironment: environment, faults: options.faults, condensation: condensation, log: log,
            notifier: StdoutNotifier { note($0) },
            onEventError: { event, error in
                // A deferred condensation is not a failure: `wait` condenses the run once the earlier ones have.
                if let deferred = error as? CondensationOrder.Deferred {
                    if verbose { note("odin: \(deferred)") }
                    return
                }
                note("odin: job event \(event.detail.jobId) \(event.detail.status.rawValue) failed: \(error)")
            })
    }

    /// Stops the local Batch for good (Ctrl-C): nothing starts any more and events of the killed workers do not
    /// reach the control logic (they would mark the chunks failed for good), while the control logic may still
    /// submit and enable the queues until the process exits: the state store stays as it was, for resume.
    package var halting: @Sendable () -> Void {
        { [compute = binding.compute, queues = options.profile.queues] in
            compute.halt()
            compute.setEventSink { _ in }
            for queue in queues { try? compute.setQueueEnabled(queue, false) }
        }
    }

    package var storeRoot: String { binding.objects.root }

    /// Hugin's settings from the profile (the local runs and `odin analyze --season` condense alike).
    package static func condensationOptions(_ profile: Profile) -> CondensationOptions {
        var hugin = CondensationOptions()
        hugin.radiusMeters = profile.clustering.radiusMeters
        hugin.visitGapMinutes = profile.clustering.visitGapMinutes
        return hugin
    }

    // MARK: - Upload (copy into raw/<camera>/…)

    /// Files to stage: a FILE goes to `raw/<camera>/<name>` (camera = `--camera` or its folder's name); a DIR whose
    /// sub-folders hold media is an SD-card dump, one camera per sub-folder; a DIR of files is one camera
    /// (`--camera` or the folder's name).
    package static func plan(_ inputs: [String], camera: String?) throws -> [(source: String, key: String)] {
        var result: [(String, String)] = []
        let manager = FileManager.default
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw CLIError("input '\(input)' does not exist")
            }
            let standardized = (input as NSString).standardizingPath
            if !isDirectory.boolValue {
                let folder = ((standardized as NSString).deletingLastPathComponent as NSString).lastPathComponent
                let cameraID = camera ?? (folder.isEmpty || folder == "." ? "camera" : folder)
                result.append((standardized, "raw/\(cameraID)/\((standardized as NSString).lastPathComponent)"))
                continue
            }
            let entries = try manager.contentsOfDirectory(atPath: standardized).filter { !$0.hasPrefix(".") }.sorted()
            let subfolders = entries.filter { name in
                var sub: ObjCBool = false
                return manager.fileExists(atPath: standardized + "/" + name, isDirectory: &sub) && sub.boolValue
            }
            if camera == nil && !subfolders.isEmpty {
                for folder in subfolders {
                    for relative in try files(under: standardized + "/" + folder) {
                        result.append((standardized + "/" + folder + "/" + relative, "raw/\(folder)/\(relative)"))
                    }
                }
            } else {
                let cameraID = camera ?? (standardized as NSString).lastPathComponent
                for relative in try files(under: standardized) {
                    result.append((standardized + "/" + relative, "raw/\(cameraID)/\(relative)"))
                }
            }
        }
        for (_, key) in result {
            do { try ObjectKey.validate(key) } catch { throw CLIError("cannot use \(key) as an object key: \(error)") }
        }
        guard !result.isEmpty else { throw CLIError("no files found in \(inputs.joined(separator: ", "))") }
        return result
    }

    package static func files(under root: String) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if (relative as NSString).lastPathComponent.hasPrefix(".") { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory),
               !isDirectory.boolValue { files.append(relative) }
        }
        return files.sorted()
    }

    /// Copies the files into the store (skipping ones already there with the same size: a re-run resumes).
    package func stage(_ plan: [(source: String, key: String)], progress: Bool) throws -> [StagedFile] {
        var total: Int64 = 0
        for (source, _) in plan { total += LocalFiles.size(source) }
        let bar = options.feedback.meter("upload", total: total, unit: "B", shown: progress)
        var staged: [StagedFile] = []
        for (source, key) in plan {
            let size = LocalFiles.size(source)
            if let existing = try binding.objects.head(key), existing.size == size {
                bar.advance(size)
            } else {
                _ = try binding.objects.upload(file: source, to: key)
                bar.advance(size)
            }
            staged.append(StagedFile(source: source, key: key, size: size))
        }
        bar.finish()
        return staged
    }

    // MARK: - Run

    /// Hands the uploads to the ingest logic as one S3 ObjectCreated event (what S3 would send) and returns its result.
    package func ingest(_ files: [StagedFile]) throws -> IngestResult {
        var records: [[String: Any]] = []
        for file in files {
            let encoded = file.key.addingPercentEncoding(withAllowedCharacters: Self.keyCharacters) ?? file.key
            records.append(["eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": "local",
                            "s3": ["bucket": ["name": "local"],
                                   "object": ["key": encoded, "size": file.size,
                                              "eTag": "\(file.size)-\(String(FNV1a.hash(file.source), radix: 16))"]]])
        }
        let event = try JSONSerialization.data(withJSONObject: ["Records": records])
        return try IngestHandler.handleDecoded(Array(event), services: binding.services)
    }

    static let keyCharacters: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-_.~/")
        return set
    }()

    /// Waits until every job finished and every event was handled, showing chunk progress. Returns false on timeout.
    package func wait(runs: [String], timeoutSeconds: Double, progress: Bool) throws -> Bool {
        var total = 0
        for run in runs { total += try RunRecord.load(run, state: binding.state)?.chunkCount ?? 0 }
        let bar = options.feedback.meter("chunks", total: Int64(total), shown: progress)
        var shown: Int64 = 0
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            var done: Int64 = 0
            for run in runs {
                done += Int64(try binding.state.query(partition: Schema.runPartition(run),
                                                     sortPrefix: Schema.chunkDonePrefix).count)
            }
            if done > shown {
                bar.advance(done - shown)
                shown = done
            }
            if binding.compute.isQuiescent && binding.compute.waitUntilQuiescent(timeoutSeconds: 1) {
                try condenseDeferred()
                bar.finish()
                return true
            }
            usleep(100_000)
        }
        bar.finish()
        return false
    }

    /// Condenses, in seal order, the runs whose condensation was deferred (`CondensationOrder`): unfinished runs
    /// whose chunks are all terminal. Called when nothing runs, so it is the only one condensing. A run still
    /// deferred (an earlier run could not condense) or whose condensation fails stays unfinished for the next
    /// `odin run --local` (failures are in the summary).
    package func condenseDeferred() throws {
        let resume = ResumeService(services: binding.services)
        let failed = Set(failedCondensations.all)
        for record in try resume.unfinishedRuns().sorted(by: CondensationOrder.precedes)
        where record.status == .running && !failed.contains(record.runID) {
            let terminal = try binding.state.query(partition: Schema.runPartition(record.runID),
                                                   sortPrefix: Schema.chunkDonePrefix).count
            guard record.chunkCount > 0, terminal >= record.chunkCount else { continue }
            do {
                // Every chunk is terminal: this only condenses (no live holder of its leases: nothing else runs).
                _ = try resume.resume(record.runID, clearBudgetStop: false, takeOverLeases: true)
            } catch {
                options.feedback.note("odin: run \(record.runID) not condensed: \(error)")
            }
        }
    }

    // MARK: - Summary

    /// What happened, measured: files, detections, sites, visits, chunks per queue, teardown, estimated cost.
    package func summary(runs: [String], startedAt: Date, finishedAt: Date) throws -> LocalRunSummary {
        let profile = options.profile
        var summary = LocalRunSummary(estimatedAWSCost: try .measured(runs: runs, state: binding.state,
                                                                      profile: profile))
        var siteIDs = Set<String>()
        var failedChunks = 0
        for run in runs {
            guard let record = try RunRecord.load(run, state: binding.state) else { continue }
            var runFiles = 0, runDetections = 0
            var paths = Set<String>()
            failedChunks += record.failedChunks.count
            for index in 0..<record.chunkCount {
                guard let bytes = try? binding.objects.get(StoreLayout.stage1Key(run: run, chunk: index)) else { continue }
                let text = try Gzip.decompress(bytes)
                for line in text.split(separator: UInt8(ascii: "\n")) {
                    guard let stage1 = try? JSONDecoder().decode(Stage1Record.self, from: Data(line)) else { continue }
                    if paths.insert(stage1.path).inserted { runFiles += 1 }
                    runDetections += stage1.detections.count
                }
            }
            summary.files += runFiles
            summary.detections += runDetections
            let stage3 = storeRoot + "/" + String(StoreLayout.stage3Prefix(run: run).dropLast())
            var entry = LocalRunSummary.Run(runID: run, cameraID: record.cameraID, status: record.status.rawValue,
                                            objects: record.objectCount, chunks: record.chunkCount,
                                            failedChunks: record.failedChunks, stage1Records: runFiles,
                                            detections: runDetections, stage3Dir: stage3,
                                            priority: record.priority?.rawValue ?? "default")
            if let data = FileManager.default.contents(atPath: stage3 + "/report.json"),
               let report = try? JSONDecoder().decode(Stage3Report.self, from: data) {
                summary.visits += report.totalObservations
                summary.visitsNeedingReview += report.needsReviewCount
                entry.visits = report.totalObservations
                for site in report.sites { siteIDs.insert(site.siteID) }
                entry.reportHTML = stage3 + "/report.html"
            }
            summary.runs.append(entry)
        }
        summary.sites = siteIDs.count
        let counted = LocalRunSummary.Chunks.count(binding.compute.allJobs(), spotQueue: profile.compute.spotQueue,
                                                   failedChunks: failedChunks)
        summary.chunks = counted.chunks
        summary.jobs = counted.jobs
        if let item = try binding.state.get(Schema.teardown) {
            summary.teardown.recorded = true
            summary.teardown.at = item["at"]?.stringValue ?? ""
            summary.teardown.reason = item["reason"]?.stringValue ?? ""
            if let epoch = item["atEpoch"]?.intValue, counted.lastStopMillis > 0 {
                summary.teardown.secondsAfterLastJob = max(0, Double(epoch) - Double(counted.lastStopMillis) / 1000)
                    .rounded()
            }
        }
        summary.condensationFailures = condensationFailures.all
        summary.wallSeconds = LocalRunSummary.tenths(from: startedAt, to: finishedAt)
        return summary
    }
}

/// A thread-safe list of strings.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
