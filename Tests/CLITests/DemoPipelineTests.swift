import Foundation
import OdinLocal
import Testing
import TestSupport

/// The whole local pipeline through the real binaries: FFmpeg samples → odin (ingest, LocalCompute, job events)
/// → munin-worker per chunk → On-Demand fallback → hugin condensation → teardown.
@Suite(.requires(.ffmpeg, .odin)) struct DemoPipelineTests {
    @Test(.requires(.venv)) func tinyDemoRunsEndToEndWithFallbackAndTeardown() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-demo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try OdinProcess.run(["demo", "--dir", dir, "--cameras", "2", "--stills-per-burst", "3",
                                          "--videos", "1", "--files-per-chunk", "2", "--reclaim", "0.3",
                                          "--exhaust-spot-after", "2", "--max-parallel", "2", "--timeout", "300",
                                          "--json"] + OdinProcess.binDirArguments)
        #expect(result.status == 0, "demo failed: \(result.stderr.suffix(3000))")
        let summary = try result.json()
        #expect(summary["completed"] as? Bool == true)
        #expect(summary["nothing_running"] as? Bool == true)
        #expect(processes(mentioning: dir).isEmpty, "left running: \(processes(mentioning: dir))")

        // Stage 3 of every run.
        let runs = try #require(summary["runs"] as? [[String: Any]])
        #expect(runs.count == 2)  // one run per camera
        for run in runs {
            #expect(run["status"] as? String == "done")
            #expect((run["failed_chunks"] as? [Int]) == [])
            let stage3 = try #require(run["stage3_dir"] as? String)
            for name in ["report.json", "report.html", "compressed_observations.json", "visits.csv",
                         "sites.geojson", "datapackage.json"] {
                #expect(FileManager.default.fileExists(atPath: stage3 + "/" + name), "missing \(stage3)/\(name)")
            }
            let report = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: stage3 + "/report.json"))) as? [String: Any])
            #expect(report["run_id"] as? String == run["run_id"] as? String)
            #expect((report["total_observations"] as? Int ?? 0) >= 1, "no visit in \(stage3)/report.json")
            // The copy for the user.
            let copy = dir + "/stage3_output/\(run["run_id"] as? String ?? "")/report.json"
            #expect(FileManager.default.fileExists(atPath: copy))
            // Every Stage 3 file passes the validator of the tool that reads it; media paths resolve under the root
            // that holds raw/ (runs/<run>/stage3 is three levels below it).
            let root = URL(fileURLWithPath: stage3).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path
            let verdict = try Stage3Validators.validate(stage3: stage3, mediaRoot: root)
            #expect(Stage3Validators.errors(verdict) == [], "\(stage3)")
            let written = try #require(report["camtrap_dp"] as? [String: Any])
            let read = try #require((verdict["camtrap_dp"] as? [String: Any])?["counts"] as? [String: Any])
            for key in ["deployments", "media", "event_observations", "media_observations"] {
                #expect(read[key] as? Int == written[key] as? Int,
                        "\(key): frictionless read \(read[key] ?? "-"), report.json says \(written[key] ?? "-")")
            }
            #expect((read["media_observations"] as? Int ?? 0) > 0, "no media-level observation")
            #expect((verdict["megadetector"] as? [String: Any])?["checked_file_existence"] as? Bool == true)
        }
        #expect(summary["files"] as? Int == 2 * 3 + 1 + 3)  // two bursts, one video, one empty burst
        #expect((summary["detections"] as? Int ?? 0) > 0)
        #expect(summary["sites"] as? Int == 1)  // cam01 and cam02 are 3 m apart
        #expect((summary["visits"] as? Int ?? 0) >= 2)

        // The fallback path ran: Spot capacity ran out, so children were resubmitted to On-Demand and succeeded.
        let chunks = try #require(summary["chunks"] as? [String: Int])
        #expect((chunks["on_demand"] ?? 0) > 0)
        #expect((chunks["spot_runnable_timeouts"] ?? 0) + (chunks["spot_reclaimed_too_often"] ?? 0) > 0)
        #expect(chunks["failed"] == 0)
        let jobs = try #require(summary["jobs"] as? [[String: Any]])
        #expect(jobs.contains { ($0["queue"] as? String) == "odin-on-demand" && ($0["status"] as? String) == "SUCCEEDED" })

        // Teardown recorded; the cost estimate is labelled and computed from the profile's prices.
        let teardown = try #require(summary["teardown"] as? [String: Any])
        #expect(teardown["recorded"] as? Bool == true)
        let cost = try #require(summary["estimated_aws_cost"] as? [String: Any])
        #expect((cost["label"] as? String)?.hasPrefix("ESTIMATE") == true)
        #expect((cost["vcpu_hours_on_demand"] as? Double ?? 0) > 0)

        // The demo ends with the season: both runs in one Stage 3 that passes the same validators as a run.
        let season = try #require(summary["season"] as? [String: Any], "no season in the demo summary")
        #expect((season["runs"] as? [String])?.sorted() == runs.compactMap { $0["run_id"] as? String }.sorted())
        #expect(season["visits"] as? Int == summary["visits"] as? Int)  // one run per camera: no visit spans two
        let seasonDir = try #require(season["dir"] as? String)
        #expect(season["report_html"] as? String == seasonDir + "/report.html")
        let seasonVerdict = try Stage3Validators.validate(stage3: seasonDir, mediaRoot: dir + "/store")
        #expect(Stage3Validators.errors(seasonVerdict) == [], "\(seasonDir)")
        #expect((seasonVerdict["megadetector"] as? [String: Any])?["checked_file_existence"] as? Bool == true)
        // `odin analyze --season --local` over the same runs writes the same bytes; bad input is refused clearly.
        let again = try OdinProcess.run(["analyze", "--season", "--local", "--local-root", dir, "--output",
                                         dir + "/season-again"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains(dir + "/season-again/report.html"), "\(again.stdout)")
        for name in try FileManager.default.contentsOfDirectory(atPath: seasonDir) {
            #expect(FileManager.default.contents(atPath: seasonDir + "/" + name)
                    == FileManager.default.contents(atPath: dir + "/season-again/" + name), "\(name) differs")
        }
        let noRuns = try OdinProcess.run(["analyze", "--season", dir + "/samples", "--output", dir + "/x"])
        #expect(noRuns.status != 0 && noRuns.stderr.contains("no runs in \(dir)/samples"), "\(noRuns.stderr)")
        let twoStores = try OdinProcess.run(["analyze", "--season", "--local", dir + "/store", "--output", dir + "/x"])
        #expect(twoStores.status != 0 && twoStores.stderr.contains("one store"), "\(twoStores.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))

        // status and analyze read what the run left.
        let status = try OdinProcess.run(["status", "--local", "--local-root", dir, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let state = try status.json()
        #expect((state["runs"] as? [[String: Any]])?.allSatisfy { $0["status"] as? String == "done" } == true)
        #expect(state["last_teardown"] != nil)
        let firstRun = try #require(runs.first?["run_id"] as? String)
        let analyze = try OdinProcess.run(["analyze", dir + "/stage3_output/" + firstRun])
        #expect(analyze.status == 0, "\(analyze.stderr)")
        #expect(analyze.stdout.contains(firstRun))
        let resume = try OdinProcess.run(["resume", firstRun, "--local", "--local-root", dir, "--json"])
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(try resume.json()["resubmitted"] as? Bool == false)
        let sites = try OdinProcess.run(["sites", "list", "--local", "--local-root", dir, "--json"])
        #expect(sites.status == 0, "\(sites.stderr)")
        let registered = try #require(try sites.json()["sites"] as? [[String: Any]])
        #expect(registered.count == 1)
        let siteID = try #require(registered.first?["site_id"] as? String)
        let named = try OdinProcess.run(["sites", "name", siteID, "North lake", "--local", "--local-root", dir])
        #expect(named.status == 0, "\(named.stderr)")
        let unknown = try OdinProcess.run(["sites", "name", "no-such-site", "X", "--local", "--local-root", dir])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no-such-site"))
    }

    @Test func runLocalOnAFolderAndRerunIsDeduplicated() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-runlocal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let media = dir + "/dcim"
        try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: Peer.ffmpegPath)
        ffmpeg.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            "color=c=gray:s=160x120:r=1:d=2", "-frames:v", "2", media + "/IMG_%04d.JPG"]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        let arguments = ["run", "--local", "--local-root", dir + "/local", "--camera", "cam09", media,
                         "--local-output", dir + "/out", "--priority", "low", "--json"] + OdinProcess.binDirArguments
        let first = try OdinProcess.run(arguments)
        #expect(first.status == 0, "\(first.stderr.suffix(2000))")
        let summary = try first.json()
        #expect((summary["ingest"] as? [String: Any])?["accepted"] as? Int == 2)
        let run = try #require((summary["runs"] as? [[String: Any]])?.first)
        #expect(run["camera_id"] as? String == "cam09")
        #expect(run["priority"] as? String == "low", "the priority request reached the run")
        // One chunk: a plain (non-array) job, which Batch gives no array index; the worker must still run it.
        #expect(run["chunks"] as? Int == 1)
        #expect(run["failed_chunks"] as? [Int] == [])
        #expect(run["stage1_records"] as? Int == 2)
        #expect((summary["chunks"] as? [String: Int])?["failed"] == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/out/\(run["run_id"] as? String ?? "")/report.json"))
        // Same files again: de-duplicated, no new run.
        let second = try OdinProcess.run(arguments)
        #expect(second.status == 0, "\(second.stderr.suffix(2000))")
        let again = try second.json()
        #expect((again["ingest"] as? [String: Any])?["duplicates"] as? Int == 2)
        #expect((again["ingest"] as? [String: Any])?["runs_started"] as? [String] == [])
        // The ledger of that run, through `odin costs` and `odin run --costs` (the same global options).
        for arguments in [["costs", "--local", "--local-root", dir + "/local", "--json"],
                          ["run", "--costs", "--local", "--local-root", dir + "/local", "--json"]] {
            let costs = try OdinProcess.run(arguments)
            #expect(costs.status == 0, "\(costs.stderr.suffix(1000))")
            let ledger = try costs.json()
            #expect((ledger["runs"] as? [[String: Any]])?.contains { $0["run"] as? String == run["run_id"] as? String } == true,
                    "\(ledger)")
            #expect((ledger["months"] as? [[String: Any]])?.isEmpty == false)
        }
    }

    /// `odin batch create-config` then `process --local`: each job's priority reaches the run of its camera.
    @Test func batchProcessHonoursEachJobsPriority() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-batch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for camera in ["camA", "camB"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(camera)", withIntermediateDirectories: true)
            let ffmpeg = Process()
            ffmpeg.executableURL = URL(fileURLWithPath: Peer.ffmpegPath)
            ffmpeg.arguments = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                "color=c=gray:s=160x120:r=1:d=1", "-frames:v", "1", "\(dir)/\(camera)/IMG_%04d.JPG"]
            try ffmpeg.run()
            ffmpeg.waitUntilExit()
        }
        let config = dir + "/batch.json"
        let create = try OdinProcess.run(["batch", "create-config", "--input", dir + "/camA", dir + "/camB",
                                          "--priority", "high", "--output", config])
        #expect(create.status == 0, "\(create.stderr)")
        // The second job is edited down to low, as a user would.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config)))
            as? [String: Any])
        var jobs = try #require(object["jobs"] as? [[String: Any]])
        jobs[1]["priority"] = "low"
        object["jobs"] = jobs
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: config))
        let process = try OdinProcess.run(["batch", "process", "--config", config, "--output", dir + "/result.json",
                                           "--local", "--local-root", dir + "/local"] + OdinProcess.binDirArguments)
        #expect(process.status == 0, "\(process.stderr.suffix(2000))")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/result.json")))
            as? [String: Any])
        let runs = (result["summary"] as? [String: Any])?["runs"] as? [[String: Any]] ?? []
        var byCamera: [String: String] = [:]
        for run in runs { byCamera[run["camera_id"] as? String ?? ""] = run["priority"] as? String }
        #expect(byCamera == ["camA": "high", "camB": "low"], "\(runs)")
    }

    @Test func interruptedLocalRunLeavesNothingRunningAndResumes() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-interrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OdinProcess.binary)
        process.arguments = ["demo", "--dir", dir, "--files-per-chunk", "1", "--max-parallel", "1", "--reclaim", "0",
                             "--exhaust-spot-after", "0", "--json"] + OdinProcess.binDirArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Interrupt once the first chunk is done (whenever that is; no timing is asserted).
        for _ in 0..<600 where process.isRunning {
            let status = try? OdinProcess.run(["status", "--local", "--local-root", dir, "--json"]).json()
            let done = (status?["runs"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["chunks_done"] as? Int ?? 0) }
            if done > 0 { break }
            usleep(50_000)
        }
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
        #expect([0, 130].contains(process.terminationStatus))
        usleep(200_000)
        #expect(processes(mentioning: dir).isEmpty, "left running: \(processes(mentioning: dir))")
        let status = try OdinProcess.run(["status", "--local", "--local-root", dir, "--json"]).json()
        let runs = try #require(status["runs"] as? [[String: Any]])
        #expect(!runs.isEmpty)
        for run in runs {
            let id = try #require(run["run_id"] as? String)
            let resume = try OdinProcess.run(["resume", id, "--local", "--local-root", dir, "--json"]
                                             + OdinProcess.binDirArguments)
            #expect(resume.status == 0, "resume \(id): \(resume.stderr.suffix(2000))")
        }
        let after = try OdinProcess.run(["status", "--local", "--local-root", dir, "--json"]).json()
        for run in after["runs"] as? [[String: Any]] ?? [] {
            #expect(run["status"] as? String == "done", "\(run)")
            #expect(run["chunks_done"] as? Int == run["chunks"] as? Int)
            #expect(run["failed_chunks"] as? [Int] == [])
        }
    }
}
