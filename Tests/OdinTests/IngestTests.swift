import Events
import FoundationEssentials
@testable import Odin
import OdinBasics
import OdinKit
import OdinLocal
import Testing

@Suite struct PlannerTests {
    let planner = IngestPlanner(chunking: Profile().chunking)

    @Test func classifiesKeys() {
        #expect((try? planner.classify(bucket: "b", key: "raw/cam01/a/IMG 1.JPG", size: 1).get())?.cameraID == "cam01")
        #expect((try? planner.classify(bucket: "b", key: "raw/cam01/v.MP4", size: 1).get())?.kind == .video)
        func reason(_ key: String) -> IngestPlanner.Skip? {
            if case .failure(let skip) = planner.classify(bucket: "b", key: key, size: 1) { return skip.reason }
            return nil
        }
        #expect(reason("runs/x/manifest.jsonl.gz") == .notUnderRaw)
        #expect(reason("raw/loose.jpg") == .noCameraFolder)
        #expect(reason("raw/cam01/notes.txt") == .notMedia)
        #expect(reason("raw/cam01/folder/") == .folderMarker)
        #expect(reason("raw/cam01/noext") == .notMedia)
    }

    /// The byte-wise path for ASCII keys agrees with the Character path on every key shape (random keys over the
    /// characters that matter: separators, dots, case, CR LF, which is one Character).
    @Test func asciiClassificationAgreesWithTheCharacterPath() {
        var generator = SplitMix64(seed: 99)
        let alphabet = Array("raw/cam./_-AJPGMp4jpgxyz \r\n")
        for _ in 0..<20_000 {
            var key = Bool.random(using: &generator) ? "raw/" : ""
            for _ in 0..<Int.random(in: 0...14, using: &generator) { key.append(alphabet.randomElement(using: &generator)!) }
            #expect(planner.classifyASCII(bucket: "b", key: key, size: 1)
                    == planner.classifyCharacters(bucket: "b", key: key, size: 1), "\(key.debugDescription)")
        }
    }

    @Test func imagesByCountAndLongVideosIntoSegments() {
        // 5 min target / 0.5 s per image = 600 images per chunk.
        let images = (0..<1_500).map { MediaObject(bucket: "b", key: "raw/c/\(1_000_000 + $0).jpg", cameraID: "c", size: 1, kind: .image) }
        let chunks = planner.plan(runID: "r", objects: images)
        #expect(chunks.map(\.items.count) == [600, 600, 300])
        #expect(chunks.map(\.index) == [0, 1, 2])
        // 2 MB/s, 1 s work per s: a 1.2 GB video is 600 s of work → 2 segments.
        let video = MediaObject(bucket: "b", key: "raw/c/long.mp4", cameraID: "c", size: 1_200_000_000, kind: .video)
        let withVideo = planner.plan(runID: "r", objects: [video] + images.prefix(10))
        #expect(withVideo.count == 3)
        #expect(withVideo[1].items[0].segment == Chunk.Segment(index: 0, count: 2))
        #expect(withVideo[2].items[0].segment == Chunk.Segment(index: 1, count: 2))
        // Order-independent.
        var generator = SplitMix64(seed: 7)
        #expect(planner.plan(runID: "r", objects: images.shuffled(using: &generator)) == chunks)
    }

    @Test func partsAndManifestRoundTrip() throws {
        #expect(IngestPlanner.parts(chunkCount: 25_001) == [0..<10_000, 10_000..<20_000, 20_000..<25_001])
        let chunks = [Chunk(runID: "r", index: 0, items: [.init(key: "raw/c/a b.jpg", cameraID: "c", size: 3)]),
                      // Keys S3 allows: quotes, backslashes, control characters, slashes, non-ASCII.
                      Chunk(runID: "cam \"7\"-1", index: 1, items: [
                        .init(key: "raw/c/\"q\"\\b\u{01}\t/ñandú 🦜.mp4", cameraID: "c\\d", size: 1 << 40,
                              segment: .init(index: 2, count: 3)),
                        .init(key: "raw/c/x.jpg", cameraID: "c", size: 0),
                      ]),
                      Chunk(runID: "r", index: 2, items: [])]
        #expect(try IngestPlanner.readManifest(try IngestPlanner.manifest(chunks)) == chunks)
        // The line format JSONEncoder with sorted keys would give (the worker and the simulator read it).
        var line = ""
        chunks[0].appendJSON(to: &line)
        #expect(line == #"{"index":0,"items":[{"camera_id":"c","key":"raw/c/a b.jpg","size":3}],"run_id":"r"}"#)
    }
}

@Suite struct IngestTests {
    @Test func skipsTestEventsNonMediaAndDuplicates() throws {
        let harness = try Harness(label: "ingest-skip")
        let first = try harness.ingest(["raw/cam01/IMG 1.JPG", "raw/cam01/readme.txt", "other/x.jpg"])
        #expect(first.accepted == 1)
        #expect(first.skippedCount == 2)
        #expect(first.skipped.map(\.reason) == [.notMedia, .notUnderRaw])
        let again = try harness.ingest(["raw/cam01/IMG 1.JPG"])
        #expect(again.duplicates == 1 && again.accepted == 0)
        let test = try IngestHandler.handleDecoded(Array(#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#.utf8),
                                                    services: harness.services)
        #expect(test.testEvents == 1)
        #expect(harness.compute.submissions.isEmpty)
    }

    @Test func malformedEventChangesNothing() throws {
        let harness = try Harness(label: "ingest-bad")
        let bad = #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"size":1}}}]}"#
        #expect(throws: EventDecodingError.self) {
            try IngestHandler.handleDecoded(Array(bad.utf8), services: harness.services)
        }
        #expect(harness.counter.stateWrites == 0)
    }

    /// 10,000 S3 records (with duplicates) over 1,000 invocations, one second apart: a bounded number of runs and
    /// SubmitJob calls, every object in exactly one manifest.
    @Test func burstBecomesBoundedRuns() throws {
        var profile = Profile()
        profile.ingest.maxWaitSeconds = 600
        let harness = try Harness(profile: profile, label: "ingest-burst")
        var generator = SplitMix64(seed: 42)
        let keys = (0..<10_000).map { "raw/cam\($0 % 3)/DCIM/IMG \($0).JPG" }
        var deliveries = keys + (0..<1_000).map { _ in keys.randomElement(using: &generator)! }
        deliveries.shuffle(using: &generator)
        var started: [String] = []
        for start in stride(from: 0, to: deliveries.count, by: 11) {
            let result = try harness.ingest(Array(deliveries[start..<min(start + 11, deliveries.count)]))
            started += result.runsStarted
            harness.clock.advance(seconds: 1)
        }
        harness.clock.advance(seconds: Double(profile.ingest.settleSeconds))
        started += try harness.sweep().runsSealed
        let submissions = harness.compute.submissions
        // 1,000 s of uploads, windows capped at 600 s: at most 2 runs per camera.
        #expect(started.count >= 3 && started.count <= 6)
        #expect(submissions.count == started.count)
        var seen: [String: Int] = [:]
        for run in try harness.runs() {
            #expect(run.status == .running)
            for chunk in try IngestPlanner.readManifest(try harness.objects.get(run.manifestKey)) {
                for item in chunk.items { seen[item.key, default: 0] += 1 }
            }
        }
        #expect(seen.count == 10_000)
        #expect(seen.values.allSatisfy { $0 == 1 })
        // Ingest writes are O(1) per delivered record.
        #expect(harness.counter.stateWrites < 6 * deliveries.count)
    }

    @Test func largeRunSplitsIntoArrayJobsOfAtMost10000() throws {
        var profile = Profile()
        profile.chunking.secondsPerImage = 300  // one image per chunk
        let harness = try Harness(profile: profile, label: "ingest-parts")
        let keys = (0..<10_005).map { "raw/camX/\($0).jpg" }
        for start in stride(from: 0, to: keys.count, by: 1_000) {
            _ = try harness.ingest(Array(keys[start..<min(start + 1_000, keys.count)]))
        }
        harness.clock.advance(seconds: 61)
        let sweep = try harness.sweep()
        #expect(sweep.runsSealed.count == 1)
        #expect(harness.compute.submissions.map(\.arraySize) == [10_000, 5])
        #expect(harness.compute.submissions.map { $0.environment["ODIN_INDEX_OFFSET"] } == ["0", "10000"])
        #expect(harness.compute.submissions.allSatisfy { $0.queue == "odin-spot" && $0.retryOnStatusReason == ["Host EC2*"] })
    }

    /// The profile's default zone reaches the worker as MUNIN_DEFAULT_TIMEZONE; without one the variable is absent.
    @Test func workerGetsTheProfileDefaultZone() throws {
        var profile = Profile()
        profile.time.defaultTimezone = "Pacific/Auckland"
        for (profile, expected) in [(profile, "Pacific/Auckland"), (Profile(), nil)] as [(Profile, String?)] {
            let harness = try Harness(profile: profile, label: "ingest-zone")
            _ = try harness.ingest(["raw/cam01/a.jpg"])
            harness.clock.advance(seconds: 61)
            _ = try harness.sweep()
            #expect(harness.compute.submissions.count == 1)
            #expect(harness.compute.submissions.first?.environment["MUNIN_DEFAULT_TIMEZONE"] == expected)
        }
    }

    @Test func budgetStopHoldsUploadsUntilResume() throws {
        let harness = try Harness(label: "ingest-stop")
        try harness.state.put(StateItem(key: Schema.budgetStop, attributes: ["active": .bool(true)]), condition: .always)
        _ = try harness.ingest(["raw/cam01/a.jpg"])
        harness.clock.advance(seconds: 120)
        #expect(try harness.sweep().runsSealed.isEmpty)
        try harness.state.put(StateItem(key: Schema.budgetStop, attributes: ["active": .bool(false)]), condition: .always)
        #expect(try harness.sweep().runsSealed.count == 1)
    }
}
