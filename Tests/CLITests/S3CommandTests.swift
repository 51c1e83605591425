import AWS
import HTTP
import Odin
import OdinAWS
import OdinKit
import Foundation
import Testing
import TestSupport

/// `odin download` and `odin run` (upload) against a private moto_server.
@Suite(.requires(.venv, .odin)) struct S3CommandTests {
    static func client(_ moto: MotoServer) -> AWSClient {
        AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1",
            credentials: StaticCredentialsProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            endpoints: AWSEndpointResolver(globalOverride: moto.endpoint), sleep: { _ in }))
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func putWithBotocore(_ moto: MotoServer, bucket: String, key: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Peers.python))
        process.arguments = ["-c", """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=b"escape")
            """, moto.endpoint, bucket, key]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func downloadVerifiesResumesAndRefusesEscapingKeys() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let bucket = "dl-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let prefix = "runs/r1/stage3/"
        let big = Self.randomBytes(3 << 20, seed: 1)
        let small = Array(#"{"run_id":"r1"}"#.utf8)
        try s3.putObject(bucket: bucket, key: prefix + "media.csv", body: .bytes(big))
        try s3.putObject(bucket: bucket, key: prefix + "nested/visits.csv", body: .bytes(small))
        // Our client refuses to send such a key (curl would rewrite the path), so botocore from the venv puts it.
        try Self.putWithBotocore(moto, bucket: bucket, key: prefix + "../../etc/x")
        let listed = try s3.listAllObjects(bucket: bucket, prefix: prefix).map(\.key)
        #expect(listed.contains(prefix + "../../etc/x"), "moto normalized the key: \(listed)")

        let root = try TestEnvironment.makeTemporaryDirectory("cli-dl")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let target = root + "/a/b/out"
        // An interrupted earlier download: the first MiB of media.csv is already there.
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data(big.prefix(1 << 20)).write(to: URL(fileURLWithPath: target + "/media.csv.odin-part"))

        let result = try OdinProcess.run(["download", "s3://\(bucket)/runs/r1/stage3", "--local-path", target,
                                          "--json"], environment: awsEnvironment(moto))
        #expect(result.status == 1)  // the escaping key is refused, and that is a failure
        #expect(result.stderr.contains("../../etc/x"))
        let report = try result.json()
        #expect(report["refused_keys"] as? [String] == [prefix + "../../etc/x"])
        #expect(report["files"] as? Int == 2)
        #expect(report["resumed"] as? Int == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target + "/media.csv")) == Data(big))
        #expect(try Data(contentsOf: URL(fileURLWithPath: target + "/nested/visits.csv")) == Data(small))
        #expect(!FileManager.default.fileExists(atPath: root + "/a/etc/x"))
        #expect(!FileManager.default.fileExists(atPath: target + "/media.csv.odin-part"))

        // A second run skips what is complete; a corrupt partial file is discarded and fetched again.
        try FileManager.default.removeItem(atPath: target + "/nested/visits.csv")
        try Data(Array(repeating: 0x41, count: 5)).write(to: URL(fileURLWithPath: target + "/nested/visits.csv.odin-part"))
        let again = try OdinProcess.run(["download", "s3://\(bucket)/runs/r1/stage3", "--local-path", target,
                                         "--json"], environment: awsEnvironment(moto))
        let second = try again.json()
        #expect(second["skipped_complete"] as? Int == 1)
        #expect(second["downloaded"] as? Int == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target + "/nested/visits.csv")) == Data(small))
    }

    @Test func downloadCreatesRunnerAndSummary() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let bucket = "dr-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        for index in 0..<40 {
            try s3.putObject(bucket: bucket, key: "runs/r2/stage3/part-\(index).json", body: .bytes(Array("\(index)".utf8)))
        }
        let root = try TestEnvironment.makeTemporaryDirectory("cli-dl2")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try OdinProcess.run(["download", "s3://\(bucket)/runs/r2", "--local-path", root,
                                          "--create-runner", "--concurrency", "4", "--json"],
                                         environment: awsEnvironment(moto))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try result.json()
        #expect(report["downloaded"] as? Int == 40)
        #expect(FileManager.default.isExecutableFile(atPath: root + "/run_analysis.sh"))
        #expect(try String(contentsOfFile: root + "/stage3/part-7.json", encoding: .utf8) == "7")
        try s3.putObject(bucket: bucket, key: "runs/r2/stage3/report.json", body: .bytes(Array("{}".utf8)))
        let only = try OdinProcess.run(["download", "s3://\(bucket)/runs/r2/stage3", "--local-path", root + "/only",
                                        "--report-only", "--json"], environment: awsEnvironment(moto))
        #expect(only.status == 0, "\(only.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/only") == ["report.json"])
    }

    /// A Stage 1 chunk (JSON lines, gzip) of stills: (path, camera, ISO time, lat, lon, label, confidence).
    /// A gzipped Stage 1 chunk; with `thumbnailsOf`, each detection names the worker's thumbnail key in that run.
    static func stage1Chunk(_ records: [(String, String, String, Double, Double, String, Double)],
                            thumbnailsOf run: String? = nil) throws -> [UInt8] {
        let lines = records.map { r in
            let thumbnail = run.map {
                #","thumbnail":""# + StoreLayout.thumbnailKey(stage1Prefix: StoreLayout.stage1Prefix(run: $0),
                                                             media: r.0, frame: nil, species: r.5) + #"""#
            } ?? ""
            return #"{"camera_id":"\#(r.1)","detections":[{"bbox":[0.1,0.2,0.3,0.4],"category":"1","conf":\#(r.6),"label":"\#(r.5)"\#(thumbnail)}],"#
                + #""detector":"motion-v1","errors":[],"latitude":\#(r.3),"longitude":\#(r.4),"path":"\#(r.0)","#
                + #""timestamp":"\#(r.2)"}"#
        }
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-n", "-c"]
        let input = Pipe(), output = Pipe()
        gzip.standardInput = input
        gzip.standardOutput = output
        try gzip.run()
        input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        return Array(bytes)
    }

    /// `odin analyze --season s3://…` and `odin download --season`: three runs of a bucket (two cameras, two sites)
    /// become one Stage 3 that passes the validators, the same bytes both ways; bad sources are refused clearly.
    @Test func seasonFromABucketAndThroughDownload() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let bucket = "season-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let chunks: [(String, [(String, String, String, Double, Double, String, Double)])] = [
            ("runs/r1/stage1/chunk-0.jsonl.gz", [("raw/c1/1.JPG", "c1", "2026-05-01T01:00:00Z", 59.0, 18.0, "fox", 0.9),
                                                 ("raw/c1/2.JPG", "c1", "2026-05-01T01:01:00Z", 59.0, 18.0, "fox", 0.8)]),
            ("runs/r2/stage1/chunk-0.jsonl.gz", [("raw/c1/3.JPG", "c1", "2026-05-02T01:00:00Z", 59.0, 18.0, "badger", 0.9)]),
            ("runs/r3/stage1/chunk-0.jsonl.gz", [("raw/c2/1.JPG", "c2", "2026-05-01T02:00:00Z", 59.2, 18.3, "hare", 0.9)]),
        ]
        // Each detection has the worker's thumbnail (a JPEG per run and species, so every one is distinct).
        for (key, records) in chunks {
            let run = String(key.split(separator: "/")[1])
            try s3.putObject(bucket: bucket, key: key, body: .bytes(try Self.stage1Chunk(records, thumbnailsOf: run)))
            for r in records {
                let thumbnail = StoreLayout.thumbnailKey(stage1Prefix: StoreLayout.stage1Prefix(run: run), media: r.0,
                                                         frame: nil, species: r.5)
                try s3.putObject(bucket: bucket, key: thumbnail,
                                 body: .bytes([0xFF, 0xD8, 0xFF, 0xE0] + Array((run + r.0 + r.5).utf8) + [0xFF, 0xD9]))
            }
        }
        try s3.putObject(bucket: bucket, key: "runs/r3/stage3/visits.csv", body: .bytes(Array("x".utf8)))
        let root = try TestEnvironment.makeTemporaryDirectory("cli-season")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let environment = awsEnvironment(moto)

        let direct = try OdinProcess.run(["analyze", "--season", "s3://\(bucket)", "--output", root + "/direct"],
                                         environment: environment)
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(direct.stdout.contains("Season season-") && direct.stdout.contains("3 runs"), "\(direct.stdout)")
        let verdict = try Stage3Validators.validate(stage3: root + "/direct")
        #expect(Stage3Validators.errors(verdict) == [])
        let counts = try #require((verdict["camtrap_dp"] as? [String: Any])?["counts"] as? [String: Any])
        #expect(counts["deployments"] as? Int == 2)  // c1 stayed at one site over r1 and r2
        #expect(counts["media"] as? Int == 4)
        // Every visit's thumbnail is embedded in report.html (three visits: fox and badger at c1, hare at c2).
        let directReport = try #require(FileManager.default.contents(atPath: root + "/direct/report.json"))
        let thumbnails = try #require(
            (try JSONSerialization.jsonObject(with: directReport) as? [String: Any])?["thumbnails"] as? [String: Any])
        #expect(thumbnails["embedded"] as? Int == 3 && thumbnails["unreadable"] as? Int == 0
                && thumbnails["not_written"] as? Int == 0, "\(thumbnails)")

        let downloaded = try OdinProcess.run(["download", "--season", "s3://\(bucket)/runs/", "--local-path",
                                              root + "/runs", "--output", root + "/via-download"],
                                             environment: environment)
        #expect(downloaded.status == 0, "\(downloaded.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/runs/r3/stage3/visits.csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/runs/r1/stage1/thumbnails").count == 2)
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/direct").sorted()
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/via-download").sorted() == names)
        for name in names {
            #expect(FileManager.default.contents(atPath: root + "/direct/" + name)
                    == FileManager.default.contents(atPath: root + "/via-download/" + name), "\(name) differs")
        }

        let noMediaRoot = try OdinProcess.run(["analyze", "--season", root + "/runs", "--output", root + "/x"])
        #expect(noMediaRoot.status != 0 && noMediaRoot.stderr.contains("--media-root s3://BUCKET"),
                "\(noMediaRoot.stderr)")
        let notRuns = try OdinProcess.run(["analyze", "--season", "s3://\(bucket)/raw", "--output", root + "/x"],
                                          environment: environment)
        #expect(notRuns.status != 0 && notRuns.stderr.contains("s3://\(bucket)/runs/"), "\(notRuns.stderr)")
        let empty = try OdinProcess.run(["analyze", "--season", "s3://\(bucket)/runs/zz", "--output", root + "/x"],
                                        environment: environment)
        #expect(empty.status != 0 && empty.stderr.contains("no runs under"), "\(empty.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/x"))
    }

    @Test func runUploadsToRawCameraKeysAndResumes() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let bucket = "up-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        let root = try TestEnvironment.makeTemporaryDirectory("cli-up")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // An SD-card dump: one folder per camera; one file above the multipart threshold.
        for camera in ["cam01", "cam02"] {
            try FileManager.default.createDirectory(atPath: "\(root)/dump/\(camera)/DCIM", withIntermediateDirectories: true)
            for index in 0..<3 {
                try Data(Self.randomBytes(1000 + index, seed: UInt64(index)))
                    .write(to: URL(fileURLWithPath: "\(root)/dump/\(camera)/DCIM/IMG_\(index).JPG"))
            }
        }
        try Data(Self.randomBytes(17 << 20, seed: 9)).write(to: URL(fileURLWithPath: "\(root)/dump/cam02/VID_1.MP4"))
        let arguments = ["run", root + "/dump", "--bucket", bucket, "--priority", "high", "--json"]
        let before = Int64(Date().timeIntervalSince1970)
        let first = try OdinProcess.run(arguments, environment: awsEnvironment(moto))
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try first.json()["uploaded"] as? Int == 7)
        #expect(try first.json()["priority"] as? String == "high")
        let keys = Set(try s3.listAllObjects(bucket: bucket).map(\.key))
        #expect(keys.contains("raw/cam01/DCIM/IMG_0.JPG"))
        #expect(keys.contains("raw/cam02/VID_1.MP4"))
        // A priority request per camera, shortened after the upload to settle + max wait + 1 h (default profile).
        for camera in ["cam01", "cam02"] {
            let body = try s3.getObject(bucket: bucket, key: "control/priority/\(camera).json").body
            let request = try JSONDecoder().decode(PriorityRequest.self, from: Data(body))
            #expect(request.priority == .high)
            #expect(request.expiresAt - request.setAt == 60 + 900 + 3600)
            #expect(request.setAt >= before)
        }
        // An interrupted upload: two objects are missing; the re-run sends only those.
        try s3.deleteObject(bucket: bucket, key: "raw/cam01/DCIM/IMG_1.JPG")
        try s3.deleteObject(bucket: bucket, key: "raw/cam02/VID_1.MP4")
        let second = try OdinProcess.run(arguments, environment: awsEnvironment(moto))
        let resumed = try second.json()
        #expect(resumed["uploaded"] as? Int == 2)
        #expect(resumed["skipped"] as? Int == 5)
        let body = try s3.getObject(bucket: bucket, key: "raw/cam01/DCIM/IMG_1.JPG").body
        #expect(body == Self.randomBytes(1001, seed: 1))
        // A changed local file (same name, other bytes) is uploaded again.
        try Data(Self.randomBytes(1000, seed: 42)).write(to: URL(fileURLWithPath: "\(root)/dump/cam01/DCIM/IMG_0.JPG"))
        let third = try OdinProcess.run(arguments, environment: awsEnvironment(moto))
        #expect(try third.json()["uploaded"] as? Int == 1)
        // So is a changed multipart file of the same size: its multipart ETag is recomputed from the file.
        try Data(Self.randomBytes(17 << 20, seed: 10)).write(to: URL(fileURLWithPath: "\(root)/dump/cam02/VID_1.MP4"))
        let fourth = try OdinProcess.run(arguments, environment: awsEnvironment(moto))
        #expect(try fourth.json()["uploaded"] as? Int == 1)
        #expect(try fourth.json()["skipped"] as? Int == 6)
        let video = try s3.getObject(bucket: bucket, key: "raw/cam02/VID_1.MP4").body
        #expect(video == Self.randomBytes(17 << 20, seed: 10))
    }

    @Test func runWaitFollowsTheRunAndDownloadsStage3() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let bucket = "wt-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        // What the deployed pipeline leaves for a run of camera "cam 5" (sanitized to cam-5), and an older run.
        try s3.putObject(bucket: bucket, key: "runs/cam-5-29990101-000000/stage1/chunk-0.jsonl.gz", body: .bytes([1]))
        try s3.putObject(bucket: bucket, key: "runs/cam-5-29990101-000000/stage3/report.json",
                         body: .bytes(Array(#"{"run_id":"cam-5-29990101-000000"}"#.utf8)))
        try s3.putObject(bucket: bucket, key: "runs/cam-5-20000101-000000/stage3/report.json", body: .bytes([2]))
        let root = try TestEnvironment.makeTemporaryDirectory("cli-wait")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
        try Data([0xFF, 0xD8, 0xFF, 0xD9]).write(to: URL(fileURLWithPath: root + "/in/IMG_1.JPG"))
        let result = try OdinProcess.run(["run", root + "/in", "--camera", "cam 5", "--bucket", bucket, "--wait",
                                          "--local-output", root + "/out", "--timeout", "60", "--json"],
                                         environment: awsEnvironment(moto))
        #expect(result.status == 0, "\(result.stderr)")
        let output = try result.json()
        #expect(output["uploaded"] as? Int == 1)
        #expect((output["runs"] as? [[String: Any]])?.map { $0["run_id"] as? String } == ["cam-5-29990101-000000"])
        #expect(FileManager.default.fileExists(atPath: root + "/out/cam-5-29990101-000000/report.json"))
        #expect(!FileManager.default.fileExists(atPath: root + "/out/cam-5-20000101-000000"))
    }

    @Test func statusOnAWSListsQueuesAndEnvironmentsAsJSON() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let result = try OdinProcess.run(["status", "--json"], environment: awsEnvironment(moto))
        #expect(result.status == 0, "\(result.stderr)")
        let status = try result.json()
        #expect(status["binding"] as? String == "aws")
        #expect(status["region"] as? String == "us-east-1")
        #expect(status["queues"] as? [Any] != nil)
        #expect(status["compute_environments"] as? [Any] != nil)
        // A missing stack is not silently "fine" for teardown: no queues → nothing listed, and setup names the queue.
        let setup = try OdinProcess.run(["setup", "--job-count", "2"], environment: awsEnvironment(moto))
        #expect(setup.status == 1)
        #expect(setup.stderr.contains("odin-spot"))
    }

    @Test func stackOutputsNameTheDeployedResources() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let template = """
            Resources:
              Topic:
                Type: AWS::SNS::Topic
            Outputs:
              DataBucketName:
                Value: stack-data-bucket
              SpotJobQueueArn:
                Value: arn:aws:batch:us-east-1:123456789012:job-queue/stack-spot-queue
              OnDemandJobQueueArn:
                Value: arn:aws:batch:us-east-1:123456789012:job-queue/stack-od-queue
            """
        _ = try s3.createStack(name: "odin-test", template: .body(template))
        try s3.createBucket("stack-data-bucket")
        let root = try TestEnvironment.makeTemporaryDirectory("cli-stack")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/IMG_1.JPG"))
        // The bucket comes from the stack's outputs…
        let run = try OdinProcess.run(["run", root + "/IMG_1.JPG", "--camera", "c1", "--stack", "odin-test", "--json"],
                                      environment: awsEnvironment(moto))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try run.json()["bucket"] as? String == "stack-data-bucket")
        #expect(try s3.headObject(bucket: "stack-data-bucket", key: "raw/c1/IMG_1.JPG").contentLength == 3)
        // …and so do the queues.
        let setup = try OdinProcess.run(["setup", "--stack", "odin-test"], environment: awsEnvironment(moto))
        #expect(setup.status == 1)
        #expect(setup.stderr.contains("stack-spot-queue"))
        let missing = try OdinProcess.run(["status", "--stack", "no-such-stack"], environment: awsEnvironment(moto))
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("--stack no-such-stack"))
    }

    @Test func statusReadsRunsTeardownAndBudgetFromTheTable() throws {
        let moto = try makeMoto()
        defer { moto.stop() }
        let client = Self.client(moto)
        let table = "odin-test-state"
        try client.createTable(table, partitionKey: "pk", sortKey: "sk")
        let state = DynamoStateStore(client: client, table: table)
        try state.put(StateItem(key: Schema.teardown, attributes: ["at": .string("2026-06-01T05:00:00Z"),
                                                                   "reason": .string("queues drained"), "count": .int(3)]),
                      condition: .always)
        try state.put(StateItem(key: Schema.budgetStop, attributes: ["active": .bool(true)]), condition: .always)
        var environment = awsEnvironment(moto)
        environment["ODIN_TABLE"] = table
        let result = try OdinProcess.run(["status", "--json"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let status = try result.json()
        #expect(status["table"] as? String == table)
        #expect((status["last_teardown"] as? [String: Any])?["reason"] as? String == "queues drained")
        #expect((status["budget_stop"] as? [String: Any])?["active"] as? Bool == true)
        #expect((status["runs"] as? [Any])?.isEmpty == true)
        let text = try OdinProcess.run(["status"], environment: environment)
        #expect(text.stdout.contains("budget stop: ACTIVE"))
        // resume on AWS finds no such run in the table and says which.
        var resumeEnvironment = environment
        for (name, value) in ["ODIN_STAGE": "test", "ODIN_BUCKET": "odin-test-data", "ODIN_SPOT_QUEUE": "q1",
                              "ODIN_OD_QUEUE": "q2", "ODIN_SPOT_CE": "c1", "ODIN_OD_CE": "c2",
                              "ODIN_WORKER_JOB_DEFINITION": "w", "ODIN_HUGIN_JOB_DEFINITION": "h",
                              "ODIN_SHARE_IDENTIFIER": "odin", "ODIN_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t"] {
            resumeEnvironment[name] = value
        }
        let resume = try OdinProcess.run(["resume", "no-such-run"], environment: resumeEnvironment)
        #expect(resume.status == 1)
        #expect(resume.stderr.contains("run no-such-run: not found"))
        // teardown goes through the control plane's idle check, which names the queue this stack lacks.
        let teardown = try OdinProcess.run(["teardown", "--json"], environment: resumeEnvironment)
        #expect(teardown.status == 1)
        #expect(teardown.stderr.contains("q1"))
    }
}
