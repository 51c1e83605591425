import ArgumentParser
import Compression
import Dispatch
import Events
import Foundation
import Hugin
import Odin
import OdinApp
import OdinKit
import OdinBasics
import OdinLocal

/// The whole pipeline on this machine: Odin's local binding (a folder as the bucket, a state folder, LocalCompute
/// running `munin-worker` per array child with the job contract ODIN_STORE, ODIN_RUN_ID, ODIN_MANIFEST,
/// ODIN_INDEX_OFFSET, AWS_BATCH_JOB_ARRAY_INDEX), with Hugin's condensation in-process when
/// Odin's condensation port fires. The control logic is the one the Lambda functions run.
final class LocalPipeline {
    struct Options {
        var root: String
        var profile: Profile
        var faults = LocalCompute.Faults()
        /// Folder holding munin-worker and hugin (default: next to odin).
        var binDir: String?
        var verbose = false
    }

    /// One input file placed in the store.
    struct StagedFile {
        var source: String
        var key: String
        var size: Int64
    }

    let options: Options
    let binding: LocalBinding
    let condensationFailures = LockedList()

    init(_ options: Options) throws {
        var options = options
        // Every upload is in before ingest runs, so windows may seal at once (on AWS, settle_seconds waits for more).
        options.profile.ingest.settleSeconds = 0
        self.options = options
        let root = (options.root as NSString).standardizingPath
        let absoluteRoot = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        try FileManager.default.createDirectory(atPath: absoluteRoot, withIntermediateDirectories: true)
        let munin = try Tools.locate("munin-worker", binDir: options.binDir)
        let objects = try DirectoryObjectStore(root: absoluteRoot + "/store")
        let profile = options.profile
        let failures = condensationFailures
        let verbose = options.verbose
        // Hugin in-process (the runs here are small; on AWS large runs go to a Batch job).
        let condensation = InProcessCondensation { request in
            let hugin = Self.condensationOptions(profile)
            do {
                let summary = try Condenser(options: hugin, store: objects)
                    .condense(run: request.runID, failedChunks: request.failedChunks)
                if verbose { Terminal.error("hugin: \(summary.paragraph)") }
            } catch {
                failures.append("run \(request.runID): \(error)")
                throw error
            }
        }
        var environment: [String: String] = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for (key, value) in ProcessInfo.processInfo.environment where key.hasPrefix("MUNIN_") || key == "HOME" {
            environment[key] = value
        }
        let log = verbose ? Logger(level: .info) { Terminal.error($0.jsonLine) } : .silent
        binding = try LocalBinding.make(
            root: absoluteRoot, profile: profile, worker: [munin],
            workerEnvironment: environment, faults: options.faults, condensation: condensation, log: log,
            notifier: StdoutNotifier { Terminal.error($0) },
            onEventError: { event, error in
                Terminal.error("odin: job event \(event.detail.jobId) \(event.detail.status.rawValue) failed: \(error)")
            })
    }

    var storeRoot: String { binding.objects.root }

    /// Hugin's settings from the profile (the local runs and `odin analyze --season` condense alike).
    static func condensationOptions(_ profile: Profile) -> CondensationOptions {
        var hugin = CondensationOptions()
        hugin.radiusMeters = profile.clustering.radiusMeters
        hugin.visitGapMinutes = profile.clustering.visitGapMinutes
        return hugin
    }

    // MARK: - Upload (copy into raw/<camera>/…)

    /// Files to stage: a FILE goes to `raw/<camera>/<name>` (camera = `--camera` or its folder's name); a DIR whose
    /// sub-folders hold media is an SD-card dump, one camera per sub-folder; a DIR of files is one camera
    /// (`--camera` or the folder's name).
    static func plan(_ inputs: [String], camera: String?) throws -> [(source: String, key: String)] {
        var result: [(String, String)] = []
        let manager = FileManager.default
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw ValidationError("input '\(input)' does not exist")
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
            do { try ObjectKey.validate(key) } catch { throw ValidationError("cannot use \(key) as an object key: \(error)") }
        }
        guard !result.isEmpty else { throw ValidationError("no files found in \(inputs.joined(separator: ", "))") }
        return result
    }

    static func files(under root: String) throws -> [String] {
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
    func stage(_ plan: [(source: String, key: String)], progress: Bool) throws -> [StagedFile] {
        var total: Int64 = 0
        for (source, _) in plan { total += Self.size(source) }
        let bar = ProgressBar("upload", total: total, unit: "B", enabled: progress)
        var staged: [StagedFile] = []
        for (source, key) in plan {
            let size = Self.size(source)
            if let existing = try binding.objects.head(key), existing.size == size {
                bar.advance(by: size)
            } else {
                _ = try binding.objects.upload(file: source, to: key)
                bar.advance(by: size)
            }
            staged.append(StagedFile(source: source, key: key, size: size))
        }
        bar.finish()
        return staged
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    // MARK: - Run

    /// Hands the uploads to the ingest logic as one S3 ObjectCreated event (what S3 would send) and returns its result.
    func ingest(_ files: [StagedFile]) throws -> IngestResult {
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
    func wait(runs: [String], timeoutSeconds: Double, progress: Bool) throws -> Bool {
        var total = 0
        for run in runs { total += try RunRecord.load(run, state: binding.state)?.chunkCount ?? 0 }
        let bar = ProgressBar("chunks", total: Int64(total), enabled: progress)
        var shown: Int64 = 0
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            var done: Int64 = 0
            for run in runs {
                done += Int64(try binding.state.query(partition: "run#\(run)", sortPrefix: "done#").count)
            }
            if done > shown {
                bar.advance(by: done - shown)
                shown = done
            }
            if binding.compute.isQuiescent && binding.compute.waitUntilQuiescent(timeoutSeconds: 1) {
                bar.finish()
                return true
            }
            usleep(100_000)
        }
        bar.finish()
        return false
    }

    // MARK: - Summary

    /// What happened, measured: files, detections, sites, visits, chunks per queue, teardown, estimated cost.
    func summary(runs: [String], startedAt: Date, finishedAt: Date) throws -> [String: Any] {
        let profile = options.profile
        var files = 0, detections = 0, visits = 0, needsReview = 0
        var siteIDs = Set<String>()
        var runEntries: [[String: Any]] = []
        var spotMs: Int64 = 0, onDemandMs: Int64 = 0
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
            files += runFiles
            detections += runDetections
            let stage3 = storeRoot + "/" + String(StoreLayout.stage3Prefix(run: run).dropLast())
            var entry: [String: Any] = ["run_id": run, "camera_id": record.cameraID, "status": record.status.rawValue,
                                        "objects": record.objectCount, "chunks": record.chunkCount,
                                        "failed_chunks": record.failedChunks, "stage1_records": runFiles,
                                        "detections": runDetections, "stage3_dir": stage3,
                                        "priority": record.priority?.rawValue ?? "default"]
            if let data = FileManager.default.contents(atPath: stage3 + "/report.json"),
               let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                let runVisits = report["total_observations"] as? Int ?? 0
                visits += runVisits
                needsReview += report["needs_review_count"] as? Int ?? 0
                entry["visits"] = runVisits
                for site in report["sites"] as? [[String: Any]] ?? [] {
                    if let id = site["site_id"] as? String { siteIDs.insert(id) }
                }
                entry["report_html"] = stage3 + "/report.html"
            }
            if let counters = try binding.state.get(StateKey("run#\(run)", "counters")) {
                spotMs += counters["vcpuMsSpot"]?.intValue ?? 0
                onDemandMs += counters["vcpuMsOnDemand"]?.intValue ?? 0
            }
            runEntries.append(entry)
        }
        // Chunks per queue, reclaims and Spot cancellations from the local Batch's job records.
        var spotChunks = 0, onDemandChunks = 0, reclaims = 0, spotCancels = 0, reclaimedOut = 0
        var lastStop: Int64 = 0
        var jobList: [[String: Any]] = []
        for job in binding.compute.allJobs() where job.arrayIndex != nil || job.arrayProperties == nil {
            let isCondense = job.tags?[JobTags.kind] == "condense"
            if isCondense { continue }
            jobList.append(["job_id": job.jobId, "queue": job.jobQueue, "status": job.status.rawValue,
                            "attempts": job.attemptCount, "reason": job.statusReason ?? ""])
            reclaims += (job.attempts ?? []).filter { $0.statusReason?.hasPrefix("Host EC2") == true }.count
            if job.status == .succeeded {
                if job.jobQueue == profile.compute.spotQueue || job.queueName == profile.compute.spotQueue {
                    spotChunks += 1
                } else {
                    onDemandChunks += 1
                }
            } else if job.statusReason?.hasPrefix("Canceled by JobStateTimeLimit") == true {
                spotCancels += 1
            } else if job.status == .failed && job.statusReason?.hasPrefix("Host EC2") == true {
                reclaimedOut += 1
            }
            lastStop = max(lastStop, job.stoppedAt ?? 0)
        }
        var teardown: [String: Any] = ["recorded": false]
        if let item = try binding.state.get(Schema.teardown) {
            teardown["recorded"] = true
            teardown["at"] = item["at"]?.stringValue ?? ""
            teardown["reason"] = item["reason"]?.stringValue ?? ""
            if let epoch = item["atEpoch"]?.intValue, lastStop > 0 {
                teardown["seconds_after_last_job"] = max(0, Double(epoch) - Double(lastStop) / 1000).rounded()
            }
        }
        let spotPrice = profile.pricePerVcpuHour(spot: true)
        let onDemandPrice = profile.pricePerVcpuHour(spot: false)
        let spotHours = Double(spotMs) / 3_600_000, onDemandHours = Double(onDemandMs) / 3_600_000
        let estimate = spotHours * spotPrice + onDemandHours * onDemandPrice
        let allOnDemand = (spotHours + onDemandHours) * onDemandPrice
        let instance = profile.compute.instanceTypes[0]
        return [
            "runs": runEntries,
            "files": files, "detections": detections, "sites": siteIDs.count, "visits": visits,
            "visits_needing_review": needsReview,
            "chunks": ["spot": spotChunks, "on_demand": onDemandChunks, "failed": failedChunks,
                       "spot_reclaims": reclaims, "spot_runnable_timeouts": spotCancels,
                       "spot_reclaimed_too_often": reclaimedOut],
            "teardown": teardown,
            "jobs": jobList,
            "condensation_failures": condensationFailures.all,
            "wall_seconds": (finishedAt.timeIntervalSince(startedAt) * 10).rounded() / 10,
            "estimated_aws_cost": [
                "label": "ESTIMATE: measured local vCPU-time of the chunks × the profile's prices for \(instance) "
                    + "(prices.* in the profile are editable assumptions; not a bill)",
                "currency": profile.prices.currency,
                "vcpu_hours_spot": spotHours, "vcpu_hours_on_demand": onDemandHours,
                "price_per_vcpu_hour_spot": spotPrice, "price_per_vcpu_hour_on_demand": onDemandPrice,
                "estimate": estimate, "all_on_demand": allOnDemand, "savings": allOnDemand - estimate,
            ] as [String: Any],
        ]
    }

    /// The summary as text.
    static func render(_ summary: [String: Any]) -> String {
        var lines: [String] = []
        let chunks = summary["chunks"] as? [String: Int] ?? [:]
        lines.append("Files: \(summary["files"] ?? 0)   detections: \(summary["detections"] ?? 0)   "
                     + "sites: \(summary["sites"] ?? 0)   visits: \(summary["visits"] ?? 0) "
                     + "(\(summary["visits_needing_review"] ?? 0) need review)")
        lines.append("Chunks: \(chunks["spot"] ?? 0) on Spot, \(chunks["on_demand"] ?? 0) on On-Demand, "
                     + "\(chunks["failed"] ?? 0) failed for good")
        lines.append("Spot faults: \(chunks["spot_reclaims"] ?? 0) reclaim(s); \(chunks["spot_reclaimed_too_often"] ?? 0) "
                     + "child(ren) reclaimed too often and \(chunks["spot_runnable_timeouts"] ?? 0) timed out RUNNABLE "
                     + "without Spot capacity → resubmitted to On-Demand")
        let teardown = summary["teardown"] as? [String: Any] ?? [:]
        if teardown["recorded"] as? Bool == true {
            var text = "Teardown: recorded at \(teardown["at"] ?? "?") (\(teardown["reason"] ?? ""))"
            if let seconds = teardown["seconds_after_last_job"] as? Double {
                text += ", \(Int(seconds)) s after the last job stopped (1 s resolution)"
            }
            lines.append(text)
        } else {
            lines.append("Teardown: NOT recorded")
        }
        if let cost = summary["estimated_aws_cost"] as? [String: Any] {
            let currency = cost["currency"] as? String ?? ""
            func money(_ key: String) -> String { String(format: "%.6f %@", cost[key] as? Double ?? 0, currency) }
            lines.append("Cost on AWS: \(money("estimate")) (all On-Demand: \(money("all_on_demand")), "
                         + "saved \(money("savings"))) from "
                         + String(format: "%.4f", cost["vcpu_hours_spot"] as? Double ?? 0) + " Spot + "
                         + String(format: "%.4f", cost["vcpu_hours_on_demand"] as? Double ?? 0) + " On-Demand vCPU-h")
            lines.append("  \(cost["label"] ?? "")")
        }
        for run in summary["runs"] as? [[String: Any]] ?? [] {
            lines.append("Run \(run["run_id"] ?? "") (camera \(run["camera_id"] ?? "")): \(run["status"] ?? ""), "
                         + "\(run["chunks"] ?? 0) chunk(s), \(run["visits"] ?? 0) visit(s)")
            lines.append("  Stage 3: \(run["stage3_dir"] ?? "")")
            if let html = run["report_html"] { lines.append("  report:  \(html)") }
        }
        for failure in summary["condensation_failures"] as? [String] ?? [] { lines.append("Condensation failed: \(failure)") }
        lines.append("Wall time: \(summary["wall_seconds"] ?? 0) s")
        return lines.joined(separator: "\n")
    }
}

/// A thread-safe list of strings.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
