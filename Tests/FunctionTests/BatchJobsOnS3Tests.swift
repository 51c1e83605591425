import AWS
import Compression
import Foundation
import OdinAWS
import OdinKit
import TestSupport
import Testing

/// The two Batch job commands as AWS runs them: `munin-worker` and `hugin` with only the job environment the control
/// plane and the job definitions give them (ODIN_BUCKET, ODIN_RUN_ID, AWS_BATCH_JOB_ARRAY_INDEX, …), reading and
/// writing the run in S3 (moto with signature checks) through the AWS binding, each on its job role's credentials.
@Suite("Batch jobs on S3", .requires(.venv, .contractChecker), .requires(.ffmpeg))
struct BatchJobsOnS3Tests {
    @Test("munin-worker writes Stage 1 to S3 and hugin condenses it into Stage 3 in S3")
    func workerAndHuginOnS3() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let work = try TestEnvironment.makeTemporaryDirectory("batch-s3")
        defer { try? FileManager.default.removeItem(atPath: work) }
        // Three stills of a moving test pattern, made by the ffmpeg CLI.
        try run(Peer.ffmpegPath, ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=1",
                                    "-frames:v", "3", "\(work)/IMG_%04d.JPG"])
        var items: [Chunk.Item] = []
        for index in 1...3 {
            let key = "raw/cam01/IMG_000\(index).JPG"
            let info = try stack.objects.upload(file: "\(work)/IMG_000\(index).JPG", to: key)
            items.append(Chunk.Item(key: key, cameraID: "cam01", size: info.size))
        }
        // A video with a capture time, so Hugin has visits whose thumbnails it reads from S3.
        try run(Peer.ffmpegPath, ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:d=2",
                                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata",
                                    "creation_time=2024-07-01T10:05:00Z", "\(work)/clip.mp4"])
        let clip = try stack.objects.upload(file: "\(work)/clip.mp4", to: "raw/cam01/clip.mp4")
        items.append(Chunk.Item(key: "raw/cam01/clip.mp4", cameraID: "cam01", size: clip.size))
        let manifest = try JSONEncoder().encode(Chunk(runID: "r1", index: 0, items: items)) + Data("\n".utf8)
        try stack.objects.put(StoreLayout.manifestKey(run: "r1"), bytes: try Gzip.compress([UInt8](manifest)))

        // Each command with its own job role from infra/stack.yaml, through the recording proxy and the contract
        // checker (model validation, IAM evaluation).
        let job = ["ODIN_BUCKET": stack.bucket, "ODIN_RUN_ID": "r1", "HOME": work, "PATH": "/usr/bin:/bin"]
        try run(TestEnvironment.binary("munin-worker"), [], environment: try stack.jobEnvironment("worker").merging(job) { $1 }.merging(
            ["ODIN_MANIFEST": StoreLayout.manifestKey(run: "r1"), "ODIN_INDEX_OFFSET": "0",
             "AWS_BATCH_JOB_ARRAY_INDEX": "0", "MUNIN_SCRATCH": work]) { $1 })
        let stage1 = try Gzip.decompress(try stack.objects.get(StoreLayout.stage1Key(run: "r1", chunk: 0)))
        let records = try stage1.split(separator: UInt8(ascii: "\n")).map {
            try JSONDecoder().decode(Stage1Record.self, from: Data($0))
        }
        #expect(Array(Set(records.map(\.path))).sorted() == items.map(\.key).sorted())
        // Thumbnails went to S3 next to Stage 1 on the worker role (the checker evaluates each PUT).
        let thumbnails = records.flatMap { $0.detections.compactMap(\.thumbnail) }
        #expect(!thumbnails.isEmpty)
        for key in thumbnails { #expect(try stack.objects.get(key).starts(with: [0xFF, 0xD8])) }

        try run(TestEnvironment.binary("hugin"), [], environment: try stack.jobEnvironment("hugin").merging(job) { $1 })
        #expect(stack.proxy.findings.isEmpty, "\(stack.proxy.findings)")
        #expect(stack.proxy.calls.contains { $0.operation == "S3 PUT" }, "the jobs' calls went through the checker")
        let outputs = try stack.objects.list(prefix: StoreLayout.stage3Prefix(run: "r1")).map(\.key)
        for name in ["report.json", "report.html", "compressed_observations.json", "megadetector.json",
                     "sites.geojson", "visits.csv"] {
            #expect(outputs.contains(StoreLayout.stage3Prefix(run: "r1") + name), "\(outputs)")
        }
        // Hugin read the visits' thumbnails from S3 on its role and embedded them.
        let report = String(decoding: try stack.objects.get(StoreLayout.stage3Prefix(run: "r1") + "report.json"),
                            as: UTF8.self)
        #expect(!report.contains("\"embedded\":0,") && report.contains("\"unreadable\":0"), "\(report)")  // compact JSON
        let html = String(decoding: try stack.objects.get(StoreLayout.stage3Prefix(run: "r1") + "report.html"),
                          as: UTF8.self)
        #expect(html.contains("src=\"data:image/jpeg;base64,"))
        // No medium has both a capture time and GPS: no Camtrap DP deployment, so no package (README, Stage 3).
        #expect(!outputs.contains(StoreLayout.stage3Prefix(run: "r1") + "datapackage.json"), "\(outputs)")
    }

    private func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(path) \(arguments): \(text)")
        if process.terminationStatus != 0 { throw TestServerError("\(path) failed") }
    }
}
