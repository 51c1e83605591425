import Foundation
import Hugin
import Munin
import OdinKit
import Testing
import TestSupport

/// The external-detector contract that `infra/detector/` relies on, fed by MegaDetector's own writer
/// (`megadetector.detection.run_detector_batch.write_results_to_file` from `megadetector-utils`, the same code as
/// the `megadetector` package, whose install needs a network download that the build machines do not allow). No
/// weights: a stand-in "model" decides the boxes, MegaDetector's code writes the file the worker reads. The Stage 1
/// it gives then goes through Hugin, and the Stage 3 must pass the format validators.
@Suite struct MegaDetectorContractTests {
    static let standIn = """
        # usage: stand-in.py IMAGES_JSON OUTPUT_JSON (the arguments run-megadetector.sh passes to MegaDetector)
        import json, sys
        from megadetector.detection.run_detector_batch import write_results_to_file
        images = json.load(open(sys.argv[1]))
        results = []
        for path in images:
            if "IMG_0002" in path:
                results.append({"file": path, "failure": "Failure image access"})
            else:
                results.append({"file": path, "detections": [
                    {"category": "1", "conf": 0.91, "bbox": [0.3, 0.3, 0.25, 0.3]},
                    {"category": "3", "conf": 0.65, "bbox": [0.05, 0.55, 0.3, 0.3]}]})
        write_results_to_file(results, sys.argv[2], detector_file="md_v5a.0.0.pt")
        """

    @Test(.requires(.venv, .ffmpeg)) func workerReadsMegaDetectorsOwnOutputAndStage3Validates() throws {
        let python = try #require(Peers.python)
        let root = try Fixture.directory("munin-md")
        defer { Fixture.remove(root) }
        let store = try WorkerTests().makeRun(root, run: "md")
        try Self.standIn.write(toFile: root + "/stand-in.py", atomically: true, encoding: .utf8)
        let log = WorkerTests.Log()
        for index in ["0", "1"] {
            let status = WorkerCommand.main(
                arguments: ["--store", root + "/store", "--run", "md", "--index", index, "--detector", "external",
                            "--detector-command", "'\(python)' '\(root)/stand-in.py' {images} {output}",
                            "--detector-name", "megadetector-v5a", "--default-timezone", "Europe/Stockholm",
                            "--scratch", root, "--max-frames", "3"],
                environment: [:], log: log.sink)
            #expect(status == 0, "\(log.text)")
        }
        let records = try Fixture.readStage1(store, run: "md", chunk: 1)
        #expect(records.allSatisfy { $0.detector == "external:megadetector-v5a" })
        let still = try #require(records.first { $0.path == "raw/cam01/IMG_0001.JPG" })
        #expect(still.detections.map(\.category) == ["1", "3"])
        #expect(still.detections.map(\.label) == ["animal", "vehicle"])
        #expect(still.detections.first?.bbox == [0.3, 0.3, 0.25, 0.3])
        let failed = try #require(records.first { $0.path == "raw/cam01/IMG_0002.JPG" })
        #expect(failed.detections.isEmpty)
        #expect(failed.errors.contains { $0.contains("Failure image access") }, "\(failed.errors)")
        let frames = records.filter { $0.path == "raw/cam01/clip.mp4" && $0.frameNumber != nil }
        #expect(!frames.isEmpty)
        #expect(frames.allSatisfy { ($0.frameRate ?? 0) > 0 }, "Stage 1 records the video's frame rate")

        _ = try Condenser(store: store).condense(run: "md")
        let verdict = try Stage3Validators.validate(stage3: root + "/store/runs/md/stage3", mediaRoot: root + "/store")
        #expect(Stage3Validators.errors(verdict) == [])
        let md = try #require(verdict["megadetector"] as? [String: Any])
        #expect(md["detection_categories"] as? [String: String] == ["1": "animal", "3": "vehicle"])
        #expect(md["detector"] as? String == "external:megadetector-v5a")
        #expect(md["failures"] as? Int ?? 0 >= 1)
        #expect(md["videos"] as? Int == 2)  // clip.mp4 and the truncated broken.mp4, one entry each
    }

    /// The wrapper the image runs refuses a wrong call with a usage message (it is what MUNIN_DETECTOR_COMMAND
    /// names; `sh -n` proves it parses).
    @Test func wrapperScriptParsesAndChecksItsArguments() throws {
        let script = Peers.packageRoot + "/infra/detector/run-megadetector.sh"
        let syntax = try Peers.run("/bin/sh", ["-n", script])
        #expect(syntax.status == 0, "\(syntax.stderr)")
        let usage = try Peers.run("/bin/sh", [script])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("usage: run-megadetector.sh IMAGES_JSON OUTPUT_JSON"))
    }
}
