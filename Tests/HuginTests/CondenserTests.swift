import Compression
import FoundationEssentials
import OdinBasics
import OdinKit
import Testing

@testable import Hugin

struct FixedClock: WallClock {
    var seconds: Double = 1_780_000_000
    func now() -> Instant { Instant(timeIntervalSince1970: seconds) }
}

@Suite struct CondenserTests {
    let t0 = 1_777_600_000.0  // 2026-05-01T01:46:40Z

    func condense(_ store: DirectoryObjectStore, run: String = "r1", failed: [Int] = [],
                  options: CondensationOptions = CondensationOptions()) throws -> CondensationSummary {
        try Condenser(options: options, store: store, clock: FixedClock()).condense(run: run, failedChunks: failed)
    }

    func observations(_ store: DirectoryObjectStore, run: String = "r1") throws -> [CompressedObservation] {
        try JSONDecoder().decode([CompressedObservation].self,
                                 from: Data(try store.get("runs/\(run)/stage3/compressed_observations.json")))
    }

    @Test func singleStillIsAVisitOfDurationZero() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[record("raw/cam01/IMG_1.JPG", time: iso(t0), [("roe_deer", 0.9)])]])
        let summary = try condense(store)
        #expect(summary.visits == 1)
        let obs = try observations(store)
        #expect(obs.count == 1)
        #expect(obs[0].durationSeconds == 0)
        #expect(obs[0].frameCount == 1)
        #expect(obs[0].startTime == obs[0].endTime)
        #expect(obs[0].detectionTimeline.count == 1)
        #expect(obs[0].detectionTimeline[0].frameNumber == nil)
        #expect(obs[0].sourceVideo == nil)
        #expect(obs[0].needsReview == false)
    }

    @Test func gapRuleAtTheBoundary() throws {
        let store = try makeStore()
        // 10 min exactly → same visit; then 10 min + 1 s → a new visit.
        try writeChunks(store, run: "r1", [[
            record("raw/cam01/1.JPG", time: iso(t0), [("fox", 0.9)]),
            record("raw/cam01/2.JPG", time: iso(t0 + 600), [("fox", 0.7)]),
            record("raw/cam01/3.JPG", time: iso(t0 + 1201), [("fox", 0.6)]),
        ]])
        _ = try condense(store)
        let obs = try observations(store)
        #expect(obs.count == 2)
        #expect(obs[0].durationSeconds == 600)
        #expect(obs[0].frameCount == 2)
        #expect(abs(obs[0].avgConfidence - 0.8) < 1e-12)
        #expect(obs[0].maxConfidence == 0.9)
        #expect(obs[1].durationSeconds == 0)
        #expect(obs[1].needsReview == true)  // max 0.6 < 0.8
        // Gap-based, not anchored: 25 minutes of presence every 5 minutes is one visit.
        let store2 = try makeStore()
        try writeChunks(store2, run: "r1", [(0...5).map {
            record("raw/cam01/\($0).JPG", time: iso(t0 + Double($0) * 300), [("elk", 0.9)])
        }])
        _ = try condense(store2)
        #expect(try observations(store2).map(\.durationSeconds) == [1500])
    }

    @Test func speciesCamerasAndSitesSplitVisits() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[
            record("raw/cam01/1.JPG", time: iso(t0), [("fox", 0.9), ("badger", 0.8)]),
            record("raw/cam02/1.JPG", camera: "cam02", time: iso(t0 + 60), [("fox", 0.9)]),
            record("raw/cam01/2.JPG", time: iso(t0 + 120), lat: 59.01, [("fox", 0.9)]),
            record("raw/cam01/3.JPG", time: iso(t0 + 180), [("fox", 0.4)]),
            record("raw/cam01/4.JPG", time: nil, [("fox", 0.9)]),
        ]])
        let summary = try condense(store)
        #expect(summary.visits == 4)
        #expect(summary.excludedBelowMinConfidence == 1)
        #expect(summary.excludedWithoutTimestamp == 1)
        #expect(summary.sites == 2)
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(try store.get("runs/r1/stage3/report.json")))
        #expect(report.speciesSummary["fox"]?.count == 3)
        #expect(report.cameraSummary["cam01"]?.species == ["badger", "fox"])
        #expect(report.excluded.belowMinConfidence == 1)
        #expect(report.excluded.withoutTimestamp == 1)
    }

    @Test func correctSpeciesAverage() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[
            record("raw/cam01/1.JPG", time: iso(t0), [("deer", 0.9)]),
            record("raw/cam01/2.JPG", time: iso(t0 + 3600), [("deer", 0.9)]),
            record("raw/cam01/3.JPG", time: iso(t0 + 7200), [("deer", 0.9)]),
        ]])
        _ = try condense(store)
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(try store.get("runs/r1/stage3/report.json")))
        #expect(report.totalObservations == 3)
        #expect(abs(report.speciesSummary["deer"]!.avgConfidence - 0.9) < 1e-12)  // the original computed 0.7875
    }

    /// Interleaved chunks (cameras split across chunks, out of time order) and a tiny sort buffer that forces
    /// spilled runs give the same bytes as an in-memory run.
    @Test func externalSortMatchesInMemory() throws {
        var rng = SplitMix64(seed: 5)
        var records: [Stage1Record] = []
        for i in 0..<3000 {
            let camera = "cam0\(i % 3)"
            let t = t0 + Double(rng.next() % 20_000)
            records.append(record("raw/\(camera)/\(i).JPG", camera: camera, time: iso(t),
                                  lat: 59 + Double(i % 3) * 0.01, [(["fox", "elk"][i % 2], 0.5 + rng.unit() / 2)]))
        }
        let chunks = stride(from: 0, to: records.count, by: 700).map { Array(records[$0..<min($0 + 700, records.count)]) }
        let a = try makeStore(), b = try makeStore()
        try writeChunks(a, run: "r1", chunks)
        try writeChunks(b, run: "r1", chunks.reversed())
        var small = CondensationOptions()
        small.maxBufferedDetections = 1000
        let inMemory = try condense(a)
        let spilled = try condense(b, options: small)
        #expect(inMemory.spilledRuns == 0)
        #expect(spilled.spilledRuns >= 2)
        #expect(inMemory.visits == spilled.visits)
        for name in ["compressed_observations.json", "visits.csv", "observations.csv", "sites.geojson"] {
            #expect(try a.get("runs/r1/stage3/\(name)") == b.get("runs/r1/stage3/\(name)"), "\(name) differs")
        }
        let obs = try observations(a)
        #expect(obs.map(\.frameCount).reduce(0, +) == 3000)
        #expect(zip(obs, obs.dropFirst()).allSatisfy { $0.startTime <= $1.startTime })
    }

    @Test func registryKeepsIdsAndNamesAcrossRuns() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[
            record("raw/cam01/1.JPG", time: iso(t0), lat: 59.0, lon: 18.0, [("fox", 0.9)]),
            record("raw/cam02/1.JPG", camera: "cam02", time: iso(t0), lat: 59.1, lon: 18.0, [("fox", 0.9)]),
        ]])
        let first = try condense(store)
        #expect(first.newSites.count == 2)
        let service = SiteRegistryService(store: ObjectStoreSiteRegistryStore(store: store), clock: FixedClock())
        let sites = try service.list()
        let skog = sites.first { abs($0.latitude - 59.0) < 1e-6 }!
        try service.name(site: skog.id, as: "Skogsbacken")

        // Second run: jittered points 3 m from the first fix join the named site; a new place becomes a new site.
        try writeChunks(store, run: "r2", [[
            record("raw/cam01/9.JPG", time: iso(t0 + 86_400), lat: 59.000027, lon: 18.0, [("elk", 0.9)]),
            record("raw/cam03/1.JPG", camera: "cam03", time: iso(t0 + 86_400), lat: 60.0, lon: 18.0, [("elk", 0.9)]),
        ]])
        let second = try condense(store, run: "r2")
        #expect(second.newSites.count == 1)
        let obs = try observations(store, run: "r2")
        let atSkog = obs.first { $0.cameraID == "cam01" }!
        #expect(atSkog.siteID == skog.id)
        #expect(atSkog.siteName == "Skogsbacken")
        #expect(try readText(store, "runs/r2/stage3/report.html").contains("Skogsbacken"))
        #expect(try readText(store, "runs/r2/stage3/sites.geojson").contains("\"name\":\"Skogsbacken\""))
        #expect(try service.list().count == 3)

        // Running r1 again changes no id.
        _ = try condense(store)
        #expect(try service.list().map(\.id) == (try service.list().map(\.id)))
        #expect(try observations(store).compactMap(\.siteID).sorted() == sites.map(\.id).sorted())
    }

    @Test func bridgingPointsDoNotMergeRegisteredSitesSilently() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[
            record("raw/a/1.JPG", camera: "a", time: iso(t0), lat: 59.0, lon: 18.0, [("fox", 0.9)]),
            record("raw/b/1.JPG", camera: "b", time: iso(t0), lat: 59.00008, lon: 18.0, [("fox", 0.9)]),  // ~8.9 m
        ]])
        #expect(try condense(store).sites == 2)
        try writeChunks(store, run: "r2", [[
            record("raw/c/1.JPG", camera: "c", time: iso(t0), lat: 59.00004, lon: 18.0, [("fox", 0.9)]),  // between
        ]])
        let summary = try condense(store, run: "r2")
        #expect(summary.mergeCandidates.count == 1)
        #expect(summary.mergeCandidates[0].count == 2)
        let service = SiteRegistryService(store: ObjectStoreSiteRegistryStore(store: store), clock: FixedClock())
        #expect(try service.list().filter { $0.mergedInto == nil }.count == 2)
        // An explicit merge makes one site; the old id resolves to the target.
        let ids = summary.mergeCandidates[0]
        let merged = try service.merge(ids[1], into: ids[0])
        #expect(merged.id == ids[0])
        let registry = try ObjectStoreSiteRegistryStore(store: store).load().registry!
        #expect(registry.resolve(ids[1])?.id == ids[0])
        #expect(throws: HuginError.self) { try service.name(site: "site-nope", as: "x") }
    }

    @Test func failedAndMissingChunksAreListed() throws {
        let store = try makeStore()
        // Chunk 1 left an output but the run record says it failed: it is listed, not condensed.
        try writeChunks(store, run: "r1", [[record("raw/cam01/1.JPG", time: iso(t0), [("fox", 0.9)])],
                                           [record("raw/cam09/1.JPG", camera: "cam09", time: iso(t0), [("elk", 0.9)])]])
        // A manifest of 3 chunks: chunk 1 failed (run record), chunk 2 has no output.
        try store.put(StoreLayout.manifestKey(run: "r1"), bytes: try Gzip.compress(Array("{}\n{}\n{}\n".utf8)))
        let summary = try condense(store, failed: [1])
        #expect(summary.failedChunks == [1, 2])
        #expect(summary.visits == 1)
        #expect(summary.chunksRead == 1)
        let report = try JSONDecoder().decode(Stage3Report.self, from: Data(try store.get("runs/r1/stage3/report.json")))
        #expect(report.failedChunks.map(\.chunk) == [1, 2])
        let html = try readText(store, "runs/r1/stage3/report.html")
        #expect(html.contains("chunk 1: failed"))
        #expect(html.contains("not condensed"))
        #expect(html.contains("chunk 2: missing"))
    }

    @Test func corruptInputIsCountedNotFatal() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[record("raw/cam01/1.JPG", time: iso(t0), [("fox", 0.9)])]])
        try store.put(StoreLayout.stage1Key(run: "r1", chunk: 1),
                      bytes: try Gzip.compress(Array("{\"broken\": true}\nnot json\n".utf8)))
        var truncated = try Gzip.compress(Array(String(repeating: "x", count: 10_000).utf8))
        truncated.removeLast(20)
        try store.put(StoreLayout.stage1Key(run: "r1", chunk: 2), bytes: truncated)
        let summary = try condense(store)
        #expect(summary.malformedLines == 2)
        #expect(summary.visits == 1)
        #expect(summary.failedChunks == [2])
    }

    @Test func optionsAreValidatedByName() throws {
        var o = CondensationOptions()
        o.radiusMeters = 0
        #expect(throws: HuginError.self) { try o.validate() }
        do { try o.validate() } catch { #expect(error.description.contains("radius_meters")) }
        o = CondensationOptions(minConfidence: 1.5)
        do { try o.validate() } catch { #expect(error.description.contains("min_confidence")) }
        o = CondensationOptions(reviewThreshold: -1)
        do { try o.validate() } catch { #expect(error.description.contains("review_threshold")) }
        o = CondensationOptions(visitGapMinutes: .nan)
        do { try o.validate() } catch { #expect(error.description.contains("visit_gap_minutes")) }
        let store = try makeStore()
        #expect(throws: HuginError.self) { try condense(store, run: "nothing-here") }
        #expect(throws: HuginError.self) { try condense(store, run: "../x") }
    }

    @Test func registryRadiusIsNotSilentlyRedefined() throws {
        let store = try makeStore()
        try writeChunks(store, run: "r1", [[record("raw/cam01/1.JPG", time: iso(t0), [("fox", 0.9)])]])
        _ = try condense(store)
        do {
            _ = try condense(store, options: CondensationOptions(radiusMeters: 10))
            Issue.record("expected a radius mismatch error")
        } catch let error as HuginError {
            #expect(error.kind == .invalidOption)
            #expect(error.description.contains("radius_meters"))
        }
    }

    @Test func timestampsRoundTrip() {
        #expect(Timestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parse("2026-05-01T06:00:00+02:00") == Timestamp.parse("2026-05-01T04:00:00Z"))
        #expect(Timestamp.parse("2024-02-29T12:00:00.250Z") == 1_709_208_000.25)
        #expect(Timestamp.format(1_709_208_000.25) == "2024-02-29T12:00:00.250Z")
        #expect(Timestamp.parse("2024-02-29 12:00:00") == nil)
        #expect(Timestamp.parse("garbage") == nil)
        #expect(Timestamp.format(-1) == "1969-12-31T23:59:59Z")
    }

    @Test func namesFileParsing() throws {
        let names = try SiteNames.parse("""
        # names
        site_names:
          site-0000abcd: "Skogsbacken"
          site-1111aaaa: Myren # bog
        """)
        #expect(names == ["site-0000abcd": "Skogsbacken", "site-1111aaaa": "Myren"])
        #expect(throws: HuginError.self) { try SiteNames.parse("site_names:\nnot indented: x\n") }
    }
}

@Suite struct VisitBuilderTests {
    @Test func longVisitsKeepDistinctMediaInFirstSeenOrder() throws {
        var emitted: [VisitBuilder.Open] = []
        let builder = VisitBuilder(gapSeconds: 600, reviewThreshold: 0.8) { emitted.append($0) }
        for k in 0..<60 {
            let path = "p\(k % 25)"
            try builder.add(DetectionEntry(time: Double(k), confidence: 0.9, frameTime: .nan, location: 0, camera: 0,
                                           species: 0, detector: 0, frameNumber: -1, boxes: 1, path: path), site: 0)
        }
        try builder.finish()
        #expect(emitted.count == 1)
        #expect(emitted[0].media == (0..<25).map { "p\($0)" })
        #expect(emitted[0].timeline.count == 60)
    }
}
