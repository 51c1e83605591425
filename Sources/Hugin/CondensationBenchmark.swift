#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OdinBasics

/// The condensation core alone (external sort by time + gap-based visit building, no parsing and no output), for
/// `scripts/bench/60-hugin.sh`. Package-internal: a measurement hook, not an API.
package enum CondensationBenchmark {
    package struct Result: Sendable {
        package var detections: Int
        package var visits: Int
        package var spilledRuns: Int
        /// Process CPU seconds spent in sort + visit building (generation excluded).
        package var cpuSeconds: Double
    }

    /// `detections` synthetic detections from `cameras` cameras (bursts of 1–30 frames about an hour apart, 8
    /// species), appended camera by camera so the sort has real work, then condensed with the default options.
    package static func run(detections: Int, cameras: Int, maxBuffered: Int = 1_000_000,
                            directory: String = "/tmp") throws -> Result {
        var generator = SplitMix64(seed: 42)
        func next() -> UInt64 { generator.next() }
        let folder = try TemporaryFolder(parent: directory)
        defer { folder.remove() }
        let sorter = DetectionSorter(capacity: maxBuffered, directory: folder.path) { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.camera != b.camera { return a.camera < b.camera }
            if a.species != b.species { return a.species < b.species }
            return a.path < b.path
        }
        let perCamera = max(1, detections / cameras)
        var entries: [DetectionEntry] = []
        entries.reserveCapacity(detections)
        for camera in 0..<cameras {
            var t = 1_777_600_000.0
            var n = 0
            while n < perCamera {
                t += 600 + Double(next() % 6600)
                let frames = 1 + Int(next() % 30)
                let species = Int32(next() % 8)
                for f in 0..<frames where n < perCamera {
                    t += f == 0 ? 0 : 1 + Double(next() % 20)
                    // Paths of at most 15 bytes stay inline in String (no allocation in the generator).
                    entries.append(DetectionEntry(
                        time: t, confidence: 0.5 + Double(next() % 500) / 1000, frameTime: .nan,
                        location: Int32(camera), camera: Int32(camera), species: species, detector: 0,
                        frameNumber: -1, boxes: 1, path: "c\(camera)/\(n)"))
                    n += 1
                }
            }
        }
        let start = clock()
        for e in entries { try sorter.append(e) }
        entries = []
        var visits = 0
        let builder = VisitBuilder(gapSeconds: 600, reviewThreshold: 0.8) { _ in visits += 1 }
        try sorter.drain { try builder.add($0, site: $0.location) }
        try builder.finish()
        let cpu = Double(clock() - start) / Double(CLOCKS_PER_SEC)
        return Result(detections: sorter.count, visits: visits, spilledRuns: sorter.spilledRuns, cpuSeconds: cpu)
    }
}
