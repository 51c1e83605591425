import AWS
import Foundation
import HTTP
import OdinApp
import Testing
import TestSupport

/// The download engine against a private moto_server: what an interrupted download does next is decided here.
@Suite(.requires(.venv)) struct S3DownloaderTests {
    static func client(_ moto: MotoServer) -> AWSClient {
        AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1",
            credentials: StaticCredentialsProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            endpoints: AWSEndpointResolver(globalOverride: moto.endpoint), sleep: { _ in }))
    }

    @Test func anInterruptedDownloadResumesAndABadPartialFileStartsOver() throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let s3 = Self.client(moto)
        let bucket = "resume-\(UUID().uuidString.prefix(8).lowercased())"
        try s3.createBucket(bucket)
        var state: UInt64 = 7
        let body = (0..<(2 << 20) + 123).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        try s3.putObject(bucket: bucket, key: "runs/r1/stage3/media.csv", body: .bytes(body))
        let listed = try #require(try s3.listAllObjects(bucket: bucket, prefix: "runs/r1/").first)
        let dir = try TestEnvironment.makeTemporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/media.csv"
        let item = S3Downloader.Item(key: listed.key, path: path, size: listed.size, eTag: listed.eTag ?? "")
        #expect(item.eTag.count == 32, "a single-part ETag is the MD5: \(item.eTag)")

        // The first MiB arrived before the interruption: only the rest is fetched (a ranged GET).
        try Data(body.prefix(1 << 20)).write(to: URL(fileURLWithPath: path + ".odin-part"))
        #expect(try S3Downloader.fetch(item, client: s3, bucket: bucket) == .resumed(Int64(body.count - (1 << 20))))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(body))
        #expect(!FileManager.default.fileExists(atPath: path + ".odin-part"))

        // Complete and matching the ETag: nothing is fetched.
        #expect(try S3Downloader.fetch(item, client: s3, bucket: bucket) == .skipped)

        // A partial file with the wrong bytes fails the MD5 after resuming: discarded, downloaded whole once.
        try FileManager.default.removeItem(atPath: path)
        try Data(repeating: 0x41, count: 1 << 20).write(to: URL(fileURLWithPath: path + ".odin-part"))
        #expect(try S3Downloader.fetch(item, client: s3, bucket: bucket) == .downloaded(Int64(body.count)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(body))

        // A partial file longer than the object cannot be its start: it is dropped.
        try FileManager.default.removeItem(atPath: path)
        try Data(repeating: 0x42, count: body.count + 10).write(to: URL(fileURLWithPath: path + ".odin-part"))
        #expect(try S3Downloader.fetch(item, client: s3, bucket: bucket) == .downloaded(Int64(body.count)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(body))

        // Through `download`: the prefix's objects, counted as the command reports them.
        let report = try S3Downloader(client: s3, concurrency: 4)
            .download(S3Location("s3://\(bucket)/runs/r1/stage3", argument: "source"), to: dir + "/again",
                      progress: false)
        #expect(report.files == 1 && report.downloaded == 1 && report.resumed == 0 && report.bytes == Int64(body.count))
        #expect(report.keys == ["media.csv"])
        try report.throwIfIncomplete(localPath: dir + "/again")
    }
}
