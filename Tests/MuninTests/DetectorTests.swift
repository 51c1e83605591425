import Foundation
import Media
import Munin
import OdinKit
import TestSupport
import Testing

@Suite struct DetectorTests {
    /// Samples a video into detector frames (gray analysis pictures, as the worker does).
    func frames(_ path: String, interval: Double = 0.3) throws -> [DetectorFrame] {
        var frames: [DetectorFrame] = []
        _ = try MediaFile(source: .file(path)).sampleFrames(
            FrameSampling(interval: interval), outputs: [PictureSpec(format: .gray8, maxDimension: 320)]) { frame in
            frames.append(DetectorFrame(name: "f\(frame.index)", analysis: frame.pictures[0], width: 320, height: 240))
            return true
        }
        return frames
    }

    @Test(.requires(.ffmpeg)) func motionFindsTheMovingSquare() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        try Fixture.movingSquareVideo(dir + "/moving.mp4", seconds: 3)
        let frames = try frames(dir + "/moving.mp4")
        let results = try MotionDetector().makeSequence().detect(frames)
        #expect(results.count == frames.count)
        var hits = 0
        for (k, result) in results.enumerated() {
            guard let best = result.detections.first else { continue }
            hits += 1
            // The square is at x = 20 + 60 t, y = 90, 40×40 px: its centre must be inside the box.
            let t = Double(k) * 0.3
            let cx = (40 + 60 * t) / 320, cy = 110.0 / 240
            #expect(best.bbox[0] <= cx && cx <= best.bbox[0] + best.bbox[2], "frame \(k): \(best.bbox)")
            #expect(best.bbox[1] <= cy && cy <= best.bbox[1] + best.bbox[3], "frame \(k): \(best.bbox)")
            #expect(best.conf > 0.5)
            #expect(best.label == "motion")
            // One box, about the square's size (40 px of 320, plus blur/dilation margins): no ghost.
            #expect(result.detections.count == 1, "frame \(k): \(result.detections)")
            #expect(abs(best.bbox[2] - 40.0 / 320) < 0.03, "frame \(k): \(best.bbox)")
        }
        #expect(hits >= frames.count - 1)
    }

    @Test(.requires(.ffmpeg)) func motionReportsNothingOnAStaticScene() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        try Fixture.staticVideo(dir + "/static.mp4", seconds: 3)
        let results = try MotionDetector().makeSequence().detect(try frames(dir + "/static.mp4"))
        #expect(!results.isEmpty)
        #expect(results.allSatisfy { $0.detections.isEmpty && $0.error == nil })
    }

    @Test(.requires(.ffmpeg)) func motionSequenceKeepsStateAcrossBatches() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        try Fixture.movingSquareVideo(dir + "/moving.mp4", seconds: 3)
        let all = try frames(dir + "/moving.mp4")
        let sequence = MotionDetector().makeSequence()
        let first = try sequence.detect(Array(all.prefix(4)))
        let rest = try sequence.detect(Array(all.dropFirst(4)))
        #expect((first + rest).filter { !$0.detections.isEmpty }.count >= all.count - 1)
    }

    /// A stand-in for MegaDetector: a shell script that reads the image list and writes batch-format JSON.
    @Test func externalDetectorReadsMegaDetectorBatchJSON() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let script = dir + "/fake-md.sh"
        try """
            #!/bin/sh
            # usage: fake-md.sh IMAGES_JSON OUTPUT_JSON — one animal per image, except failures for names with "bad"
            python3 - "$1" "$2" <<'PY'
            import json, sys
            images = json.load(open(sys.argv[1]))
            out = {"images": [], "detection_categories": {"1": "animal", "2": "person"}, "info": {"format_version": "1.4"}}
            for path in images:
                if "bad" in path:
                    out["images"].append({"file": path, "failure": "Failure image access"})
                else:
                    out["images"].append({"file": path, "detections": [
                        {"category": "1", "conf": 0.91, "bbox": [0.25, 0.3, 0.2, 0.25]},
                        {"category": "2", "conf": 0.12, "bbox": [0.0, 0.0, 0.1, 0.1]}]})
            json.dump(out, open(sys.argv[2], "w"))
            PY
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let gray = Picture(width: 4, height: 4, format: .gray8, pixels: [UInt8](repeating: 0, count: 16))
        let detector = ExternalDetector(command: "sh \(script) {images} {output}", name: "fake-md",
                                        scratchDirectory: dir)
        #expect(detector.id == "external:fake-md")
        let frames = [
            DetectorFrame(name: "a", analysis: gray, imagePath: dir + "/a.jpg", width: 640, height: 480),
            DetectorFrame(name: "bad", analysis: gray, imagePath: dir + "/bad.jpg", width: 640, height: 480),
        ]
        let results = try detector.makeSequence().detect(frames)
        #expect(results[0].detections.count == 2)
        #expect(results[0].detections[0] == Detection(category: "1", label: "animal", conf: 0.91,
                                                     bbox: [0.25, 0.3, 0.2, 0.25]))
        #expect(results[0].detections[1].label == "person")
        #expect(results[1].error?.contains("Failure image access") == true)
    }

    @Test func externalDetectorFailuresCarryTheCommandOutput() throws {
        let dir = try Fixture.directory()
        defer { Fixture.remove(dir) }
        let gray = Picture(width: 4, height: 4, format: .gray8, pixels: [UInt8](repeating: 0, count: 16))
        let frame = DetectorFrame(name: "a", analysis: gray, imagePath: dir + "/a.jpg", width: 4, height: 4)
        let failing = ExternalDetector(command: "echo model file missing >&2; exit 3 # {images} {output}",
                                       name: "x", scratchDirectory: dir)
        do {
            _ = try failing.makeSequence().detect([frame])
            Issue.record("expected an error")
        } catch let error as DetectorError {
            #expect(error.message.contains("status 3") && error.message.contains("model file missing"))
        }
        let garbage = ExternalDetector(command: "echo '{\"nope\": 1}' > {output} # {images}", name: "x",
                                       scratchDirectory: dir)
        #expect(throws: DetectorError.self) { try garbage.makeSequence().detect([frame]) }
    }

    @Test func stage1FilterDropsAndFlags() {
        let filter = Stage1Filter()
        let detections = [
            Detection(category: "1", label: "animal", conf: 0.9, bbox: [0.4, 0.4, 0.2, 0.2]),    // kept, clean
            Detection(category: "1", label: "animal", conf: 0.2, bbox: [0.4, 0.4, 0.2, 0.2]),    // low confidence
            Detection(category: "1", label: "animal", conf: 0.9, bbox: [0.4, 0.4, 0.01, 0.01]),  // area too small
            Detection(category: "1", label: "animal", conf: 0.9, bbox: [0.0, 0.0, 0.95, 0.95]),  // area too big
            Detection(category: "1", label: "animal", conf: 0.9, bbox: [0.1, 0.4, 0.8, 0.05]),   // aspect 21
            Detection(category: "1", label: "animal", conf: 0.32, bbox: [0.4, 0.4, 0.2, 0.2]),   // doubtful: conf band
            Detection(category: "1", label: "animal", conf: 0.9, bbox: [0.001, 0.4, 0.2, 0.2]),  // doubtful: edge
            Detection(category: "1", label: "animal", conf: 0.9, bbox: [0.4, 0.4, 0.08, 0.08]),  // doubtful: tiny
        ]
        let (kept, dropped) = filter.apply(detections, width: 1000, height: 1000)
        #expect(kept.count == 4)
        #expect(kept.map { $0.doubtful } == [false, true, true, true])
        #expect(dropped.map(\.1) == [.lowConfidence, .area, .area, .aspect])
    }
}
