import FoundationEssentials
import OdinKit
import TestSupport
import Testing

@testable import Hugin

/// Many runs condensed into one Stage 3 (`SeasonCondenser`): one package across runs, cameras and sites, the same
/// validators as a run, byte-identical reruns whatever the input order, and clear errors for bad input.
@Suite struct SeasonTests {
    static let t0 = 1_777_600_000.0  // 2026-05-01T01:46:40Z
    static let day = 86_400.0
    static let siteA = (59.0, 18.0), siteB = (59.1, 18.2)

    /// Four runs, two cameras, two sites:
    /// - r1, r2: cam01 at A; a fox visit runs on across the r1/r2 upload boundary (one visit), and r2 holds a badger.
    /// - r3: cam02 at B, and cam01 moved to B two days later.
    /// - r4: cam01 back at A on day 3 (so cam01@A has two deployments), plus a copy of r1's first file (counted once).
    static func writeSeason(_ store: DirectoryObjectStore) throws {
        func at(_ site: (Double, Double), _ path: String, _ camera: String, _ t: Double,
                _ detections: [(String, Double)]) -> Stage1Record {
            record(path, camera: camera, time: iso(t), lat: site.0, lon: site.1, detections)
        }
        try writeChunks(store, run: "r1", [[
            at(siteA, "raw/cam01/0001.JPG", "cam01", t0, [("fox", 0.9)]),
            at(siteA, "raw/cam01/0002.JPG", "cam01", t0 + 60, [("fox", 0.95)]),
        ]])
        try writeChunks(store, run: "r2", [
            [at(siteA, "raw/cam01/0003.JPG", "cam01", t0 + 120, [("fox", 0.85)])],
            [at(siteA, "raw/cam01/0004.JPG", "cam01", t0 + 3600, [("badger", 0.7)])],
        ])
        try writeChunks(store, run: "r3", [[
            at(siteB, "raw/cam02/0001.JPG", "cam02", t0 + 100, [("fox", 0.9)]),
            at(siteB, "raw/cam02/0002.JPG", "cam02", t0 + 7200, []),
            at(siteB, "raw/cam01/0101.JPG", "cam01", t0 + 2 * day, [("hare", 0.88)]),
        ]])
        try writeChunks(store, run: "r4", [[
            at(siteA, "raw/cam01/0001.JPG", "cam01", t0, [("fox", 0.9)]),
            at(siteA, "raw/cam01/0201.JPG", "cam01", t0 + 3 * day, [("roe_deer", 0.93)]),
        ]])
    }

    static func condense(_ runs: [SeasonRun], store: DirectoryObjectStore, output: String,
                         registry: (any SiteRegistryStore)? = nil) throws -> CondensationSummary {
        try SeasonCondenser(registryStore: registry ?? ObjectStoreSiteRegistryStore(store: store))
            .condense(runs: runs, mediaRoot: store.rootURI, output: output)
    }

    static func files(_ folder: String) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            result[name] = Array(try #require(FileManager.default.contents(atPath: folder + "/" + name)))
        }
        return result
    }

    static func report(_ folder: String) throws -> Stage3Report {
        try JSONDecoder().decode(Stage3Report.self,
                                 from: try #require(FileManager.default.contents(atPath: folder + "/report.json")))
    }

    @Test(.requires(.venv)) func aSeasonIsOnePackageAcrossRunsCamerasAndSites() throws {
        let store = try makeStore()
        try Self.writeSeason(store)
        let out = store.root + "/season"
        let found = try SeasonInputs.inStore(store)
        #expect(found.runs.map(\.id) == ["r1", "r2", "r3", "r4"])
        let summary = try Self.condense(found.runs, store: store, output: out)
        #expect(summary.outputPrefix == out)
        #expect(Set(try Self.files(out).keys) == Set(Stage3Files.all))

        let report = try Self.report(out)
        #expect(report.runID == SeasonCondenser.defaultName(found.runs))
        let season = try #require(report.season)
        #expect(season.runs.map(\.runID) == ["r1", "r2", "r3", "r4"])
        #expect(season.runs.map(\.chunksRead) == [[0], [0, 1], [0], [0]])
        #expect(season.runs[3].duplicateRecordsSkipped == 1)
        #expect(report.mediaFiles == 8)  // r4's copy of raw/cam01/0001.JPG counts once
        // generated_at is the newest capture time, not the clock.
        #expect(report.generatedAt == iso(Self.t0 + 3 * Self.day))
        #expect(report.sites.count == 2)

        // The fox visit of cam01 at A continues across the r1/r2 boundary: one visit of three detections.
        let visits = csvRows(try String(contentsOfFile: out + "/visits.csv", encoding: .utf8))
        let header = visits[0]
        func column(_ row: [String], _ name: String) -> String { row[header.firstIndex(of: name)!] }
        let foxA = visits.dropFirst().filter { column($0, "camera_id") == "cam01" && column($0, "species") == "fox" }
        #expect(foxA.count == 1)
        #expect(foxA.first.map { column($0, "frame_count") } == "3")
        #expect(report.totalObservations == 5)  // fox cam01@A, badger, fox cam02@B, hare, roe deer

        // Deployments: a camera per site per time span; cam01 left A and came back, so A has two.
        let siteA = try #require(report.sites.first { abs($0.latitude - 59.0) < 0.001 }).siteID
        let siteB = try #require(report.sites.first { abs($0.latitude - 59.1) < 0.001 }).siteID
        let spans = try #require(report.deployments)
        #expect(spans.map(\.deploymentID) == ["cam01@\(siteA)#1", "cam01@\(siteA)#2", "cam01@\(siteB)",
                                              "cam02@\(siteB)"].sorted())
        let first = try #require(spans.first { $0.deploymentID == "cam01@\(siteA)#1" })
        #expect(first.runs == ["r1", "r2"])  // r4's copy of r1's first file is skipped, not counted again
        #expect(first.start == iso(Self.t0) && first.end == iso(Self.t0 + 3600))
        let back = try #require(spans.first { $0.deploymentID == "cam01@\(siteA)#2" })
        #expect(back.runs == ["r4"] && back.start == iso(Self.t0 + 3 * Self.day))
        let deployments = csvRows(try String(contentsOfFile: out + "/deployments.csv", encoding: .utf8))
        #expect(deployments.dropFirst().map { $0[0] } == spans.map(\.deploymentID))
        // Media and observations name the deployment of their time.
        let media = csvRows(try String(contentsOfFile: out + "/media.csv", encoding: .utf8))
        let roe = try #require(media.first { $0.count > 6 && $0[6] == "0201.JPG" })
        #expect(roe[1] == "cam01@\(siteA)#2")
        let observations = csvRows(try String(contentsOfFile: out + "/observations.csv", encoding: .utf8))
        #expect(observations.dropFirst().filter { $0[9] == "Capreolus capreolus" }.allSatisfy { $0[1] == roe[1] })

        // The package's title names the runs; the registry is read, never written.
        let package = try String(contentsOfFile: out + "/datapackage.json", encoding: .utf8)
        #expect(package.contains("4 runs: r1, r2, r3, r4"))
        #expect(try store.head(StoreLayout.siteRegistryKey) == nil)

        // The same validators as a run: MegaDetector's, frictionless with the official Camtrap DP schemas, GeoJSON.
        let verdict = try Stage3Validators.validate(stage3: out)
        #expect(Stage3Validators.errors(verdict) == [])
        let read = try #require((verdict["camtrap_dp"] as? [String: Any])?["counts"] as? [String: Any])
        #expect(read["deployments"] as? Int == 4)
        #expect(read["media"] as? Int == report.camtrapDP?.media)

        let text = try Stage3Analysis.summarize(directory: out)
        #expect(text.contains("Season \(report.runID): 4 runs"))
    }

    /// Two runs of the season → the same bytes; the runs given in another order, or found in a folder of
    /// downloaded runs instead of a store → the same bytes; rerunning into the same folder replaces it.
    @Test func rerunsAndPermutedInputsAreByteIdentical() throws {
        let store = try makeStore()
        try Self.writeSeason(store)
        let runs = try SeasonInputs.inStore(store).runs
        _ = try Self.condense(runs, store: store, output: store.root + "/a")
        _ = try Self.condense(runs, store: store, output: store.root + "/b")
        _ = try Self.condense(Array(runs.reversed()), store: store, output: store.root + "/c")
        _ = try Self.condense([runs[2], runs[0], runs[3], runs[1]], store: store, output: store.root + "/a")
        let a = try Self.files(store.root + "/a")
        #expect(a.count == Stage3Files.all.count)
        #expect(try Self.files(store.root + "/b") == a)
        #expect(try Self.files(store.root + "/c") == a)

        // The same runs downloaded into DIR/<run>/…: the same season.
        let downloaded = try DirectoryObjectStore(root: store.root + "/downloaded")
        for run in ["r4", "r2", "r1", "r3"] {
            for info in try store.list(prefix: "runs/\(run)/") {
                try downloaded.put(String(info.key.dropFirst("runs/".count)), bytes: try store.get(info.key))
            }
        }
        let found = try SeasonInputs.inFolder(downloaded.root)
        #expect(!found.isStore && found.runs.map(\.id) == ["r1", "r2", "r3", "r4"])
        _ = try SeasonCondenser(registryStore: ObjectStoreSiteRegistryStore(store: store))
            .condense(runs: found.runs, mediaRoot: store.rootURI, output: store.root + "/d")
        #expect(try Self.files(store.root + "/d") == a)
    }

    @Test func badInputIsAClearErrorAndNothingIsHalfWritten() throws {
        let store = try makeStore()
        let root = store.root
        let manager = FileManager.default
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        // A folder with no runs.
        try manager.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        let none = message { _ = try SeasonInputs.inFolder(root + "/empty") }
        #expect(none.contains("no runs in \(root)/empty") && none.contains("odin download"), "\(none)")

        // A run downloaded without its Stage 1 (only stage3/).
        let partial = try DirectoryObjectStore(root: root + "/partial")
        try writeChunks(store, run: "ok", [[record("raw/c/1.JPG", time: iso(Self.t0), [("fox", 0.9)])]])
        try partial.put("ok/stage1/chunk-0.jsonl.gz", bytes: try store.get("runs/ok/stage1/chunk-0.jsonl.gz"))
        try partial.put("only3/stage3/report.json", bytes: Array("{}".utf8))
        let missing = message { _ = try SeasonInputs.inFolder(partial.root) }
        #expect(missing.contains("only3") && missing.contains("stage1") && missing.contains("odin download"),
                "\(missing)")

        // A store and downloaded run folders mixed in one folder.
        let mixed = try DirectoryObjectStore(root: root + "/mixed")
        try mixed.put("runs/ok/stage1/chunk-0.jsonl.gz", bytes: try store.get("runs/ok/stage1/chunk-0.jsonl.gz"))
        try mixed.put("other/stage1/chunk-0.jsonl.gz", bytes: try store.get("runs/ok/stage1/chunk-0.jsonl.gz"))
        let both = message { _ = try SeasonInputs.inFolder(mixed.root) }
        #expect(both.contains("mixes a store") && both.contains("\(mixed.root)/other"), "\(both)")

        // The same run twice.
        let runs = try SeasonInputs.inStore(store).runs
        let twice = message { _ = try Self.condense(runs + runs, store: store, output: root + "/twice") }
        #expect(twice.contains("run ok is given twice"), "\(twice)")
        #expect(!manager.fileExists(atPath: root + "/twice"))

        // An output folder holding something else is refused, and left as it was.
        try manager.createDirectory(atPath: root + "/precious", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: root + "/precious/notes.txt"))
        let refused = message { _ = try Self.condense(runs, store: store, output: root + "/precious") }
        #expect(refused.contains("--output") && refused.contains("\(root)/precious"), "\(refused)")
        #expect(try manager.contentsOfDirectory(atPath: root + "/precious") == ["notes.txt"])

        // A condensation that fails half-way (the registry was built with another radius) leaves no output and no
        // temporary folder.
        try store.put(StoreLayout.siteRegistryKey, bytes: try SiteRegistry(radiusMeters: 50).encoded())
        let radius = message { _ = try Self.condense(runs, store: store, output: root + "/failed") }
        #expect(radius.contains("radius"), "\(radius)")
        #expect(!manager.fileExists(atPath: root + "/failed"))
        #expect(try manager.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".season") } == [])
    }
}
