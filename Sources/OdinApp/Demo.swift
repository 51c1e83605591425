import Foundation
import Hugin
import Odin
import OdinBasics
import OdinKit
import OdinLocal

/// `odin demo`: a generated sample set through the whole local pipeline, then one season across its runs.
package struct Demo {
    package struct Settings: Sendable {
        /// Folder for the samples and the local binding (its store/ and state/ are reset).
        package var dir: String
        package var cameras: Int
        package var stillsPerBurst: Int
        package var videos: Int
        /// Fault mode: fraction of Spot child attempts reclaimed, Spot starts before capacity runs out (0: never),
        /// seed of the reclaim choice.
        package var reclaim: Double
        package var exhaustSpotAfter: Int
        package var seed: UInt64
        package var filesPerChunk: Int
        /// Parallel worker processes (nil: CPU cores).
        package var maxParallel: Int?
        package var timeout: Double

        package init(dir: String, cameras: Int, stillsPerBurst: Int, videos: Int, reclaim: Double,
                     exhaustSpotAfter: Int, seed: UInt64, filesPerChunk: Int, maxParallel: Int?, timeout: Double) {
            (self.dir, self.cameras, self.stillsPerBurst, self.videos) = (dir, cameras, stillsPerBurst, videos)
            (self.reclaim, self.exhaustSpotAfter, self.seed) = (reclaim, exhaustSpotAfter, seed)
            (self.filesPerChunk, self.maxParallel, self.timeout) = (filesPerChunk, maxParallel, timeout)
        }
    }

    /// The demo's summary: the local run's, plus the season, the samples and the demo's settings (one JSON
    /// object: the run's keys and these).
    package struct Summary: Codable, Sendable, Equatable {
        package struct Season: Codable, Sendable, Equatable {
            package var dir: String
            package var reportHTML: String
            package var runs: [String]
            package var visits: Int
            package var sites: Int
            /// The files written (Stage 3 and the Camtrap DP package).
            package var files: [String]
            enum CodingKeys: String, CodingKey { case dir, reportHTML = "report_html", runs, visits, sites, files }
        }

        package struct Samples: Codable, Sendable, Equatable {
            package var files: Int
            package var stills: Int
            package var videos: Int
            package var emptySceneStills: Int
            package var cameras: Int
            package var generateSeconds: Double
            enum CodingKeys: String, CodingKey {
                case files, stills, videos, emptySceneStills = "empty_scene_stills", cameras
                case generateSeconds = "generate_seconds"
            }
        }

        package struct Settings: Codable, Sendable, Equatable {
            package var filesPerChunk: Int
            package var reclaimFraction: Double
            package var spotExhaustedAfterStarts: Int
            package var maxParallel: Int
            enum CodingKeys: String, CodingKey {
                case filesPerChunk = "files_per_chunk", reclaimFraction = "reclaim_fraction"
                case spotExhaustedAfterStarts = "spot_exhausted_after_starts", maxParallel = "max_parallel"
            }
        }

        package var run: LocalRunSummary
        /// Nil when the runs did not finish in time.
        package var season: Season?
        package var samples: Samples
        package var demoSettings: Settings
        package var totalWallSeconds: Double

        enum CodingKeys: String, CodingKey {
            case season, samples, demoSettings = "demo_settings", totalWallSeconds = "total_wall_seconds"
        }

        package init(run: LocalRunSummary, season: Season?, samples: Samples, demoSettings: Settings,
                     totalWallSeconds: Double) {
            (self.run, self.season, self.samples) = (run, season, samples)
            (self.demoSettings, self.totalWallSeconds) = (demoSettings, totalWallSeconds)
        }

        package init(from decoder: any Decoder) throws {
            run = try LocalRunSummary(from: decoder)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            season = try container.decodeIfPresent(Season.self, forKey: .season)
            samples = try container.decode(Samples.self, forKey: .samples)
            demoSettings = try container.decode(Settings.self, forKey: .demoSettings)
            totalWallSeconds = try container.decode(Double.self, forKey: .totalWallSeconds)
        }

        package func encode(to encoder: any Encoder) throws {
            try run.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(season, forKey: .season)
            try container.encode(samples, forKey: .samples)
            try container.encode(demoSettings, forKey: .demoSettings)
            try container.encode(totalWallSeconds, forKey: .totalWallSeconds)
        }
    }

    package var settings: Settings
    /// The profile to run with (the demo makes its chunks small and sets the parallelism).
    package var profile: Profile
    /// The `munin-worker` executable and the process environment, as for `LocalPipeline`.
    package var worker: String
    package var environment: [String: String]
    package var processorCount: Int
    package var verbose: Bool
    package var feedback: Feedback

    package init(settings: Settings, profile: Profile, worker: String, environment: [String: String],
                 processorCount: Int, verbose: Bool, feedback: Feedback) {
        (self.settings, self.profile, self.worker, self.environment) = (settings, profile, worker, environment)
        (self.processorCount, self.verbose, self.feedback) = (processorCount, verbose, feedback)
    }

    /// The marker that makes a folder a demo folder (the demo only resets folders that have it, or empty ones).
    package static let markerName = ".odin-demo"

    /// Resets `settings.dir` (refusing a folder that is not a demo's), generates the samples and runs them.
    /// - Parameter progress: show the progress meters and notes.
    package func run(progress: Bool, interrupts: LocalRun.InterruptHooks = .none)
        throws -> (summary: Summary, completed: Bool)
    {
        let dir = settings.dir
        try Self.prepare(dir)
        let started = Date()
        var generator = SampleGenerator(cameras: SampleGenerator.standard(cameras: settings.cameras))
        generator.stillsPerBurst = settings.stillsPerBurst
        generator.videos = settings.videos
        let samples = try generator.generate(into: dir + "/samples")
        let generated = Date()
        if progress {
            feedback.note("samples: \(samples.files.count) files (\(samples.stills) stills incl. "
                          + "\(samples.emptyStills) empty-scene, \(samples.videos) videos) from "
                          + "\(Plural.count(settings.cameras, "camera")) in \(dir)/samples (\(String(format: "%.1f", generated.timeIntervalSince(started))) s)")
        }
        var profile = profile
        // Small chunks so a few dozen files fan out into several array children (documented in the summary).
        profile.chunking.targetMinutes = 0.5
        profile.chunking.secondsPerImage = 30.0 / Double(settings.filesPerChunk)
        profile.costOptimization.maxParallelJobs = settings.maxParallel ?? max(1, processorCount)
        let faults = LocalCompute.Faults(reclaimFraction: settings.reclaim, seed: settings.seed,
                                         exhaustSpotAfterStarts: settings.exhaustSpotAfter == 0 ? nil
                                             : settings.exhaustSpotAfter,
                                         runnableTimeLimitSeconds: 0.5)
        let pipeline = try LocalPipeline(.init(root: dir, profile: profile, faults: faults, worker: worker,
                                               environment: environment, verbose: verbose, feedback: feedback))
        let outcome = try LocalRun.execute(pipeline, plan: try LocalPipeline.plan([dir + "/samples"], camera: nil),
                                           timeout: settings.timeout, progress: progress, interrupts: interrupts)
        try LocalRun.copyStage3(outcome.summary, to: dir + "/stage3_output")
        var season: Summary.Season?
        // The season: every run of this demo condensed into one Stage 3 (the runs registered their sites already).
        if outcome.completed {
            let store = pipeline.binding.objects
            let found = try SeasonInputs.inStore(store)
            let condensed = try SeasonCondenser(options: LocalPipeline.condensationOptions(profile),
                                                registryStore: ObjectStoreSiteRegistryStore(store: store))
                .condense(runs: found.runs, mediaRoot: store.rootURI, output: dir + "/season")
            season = .init(dir: condensed.outputPrefix, reportHTML: condensed.outputPrefix + "/report.html",
                           runs: found.runs.map(\.id), visits: condensed.visits, sites: condensed.sites,
                           files: condensed.files)
        }
        let summary = Summary(
            run: outcome.summary, season: season,
            samples: .init(files: samples.files.count, stills: samples.stills, videos: samples.videos,
                           emptySceneStills: samples.emptyStills, cameras: settings.cameras,
                           generateSeconds: LocalRunSummary.tenths(from: started, to: generated)),
            demoSettings: .init(filesPerChunk: settings.filesPerChunk, reclaimFraction: settings.reclaim,
                                spotExhaustedAfterStarts: settings.exhaustSpotAfter,
                                maxParallel: profile.costOptimization.maxParallelJobs),
            totalWallSeconds: LocalRunSummary.tenths(from: started, to: Date()))
        return (summary, outcome.completed)
    }

    /// Why `dir` cannot be the demo's folder (it exists, is not empty and has no demo marker), nil when it can.
    package static func folderRefusal(_ dir: String) -> String? {
        let manager = FileManager.default
        guard manager.fileExists(atPath: dir), !manager.fileExists(atPath: dir + "/" + markerName),
              (try? manager.contentsOfDirectory(atPath: dir).isEmpty) != true else { return nil }
        return "--dir \(dir) exists and is not a demo folder (no \(markerName)); choose another"
    }

    /// Empties the demo's folders of an earlier demo (or creates `dir`) and marks `dir` as a demo folder.
    static func prepare(_ dir: String) throws {
        let manager = FileManager.default
        let marker = dir + "/" + markerName
        if let refusal = folderRefusal(dir) { throw CLIError(refusal) }
        if manager.fileExists(atPath: dir) {
            for name in ["samples", "store", "state", "logs", "stage3_output", "season"] {
                try? manager.removeItem(atPath: dir + "/" + name)
            }
        }
        try manager.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard manager.createFile(atPath: marker, contents: Data("odin demo folder; safe to delete\n".utf8)) else {
            throw CLIError("cannot write \(marker): is \(dir) writable?")
        }
    }
}

extension Demo.Summary {
    /// The summary as text.
    /// - Parameter dir: the demo's folder.
    package func render(dir: String) -> String {
        var lines = ["", "== Odins Ravne demo: \(samples.files) generated files, local binding in \(dir)",
                     "Fault mode: \(Int(demoSettings.reclaimFraction * 100)) % of Spot attempts reclaimed, Spot capacity "
                         + "gone after \(Plural.count(demoSettings.spotExhaustedAfterStarts, "start")); chunks of ≤ "
                         + "\(demoSettings.filesPerChunk) files.",
                     run.render(),
                     "Stage 3 copies: \(dir)/stage3_output/<run>/   total time \(totalWallSeconds) s"]
        if let season {
            let visits = Plural.count(season.visits, "visit")
            let sites = Plural.count(season.sites, "site")
            lines.append("Season across \(Plural.count(season.runs.count, "run")): \(visits) at \(sites), one Camtrap DP "
                         + "package: \(season.dir)/")
            lines.append("Season report: \(season.reportHTML)")
        }
        return lines.joined(separator: "\n")
    }
}
