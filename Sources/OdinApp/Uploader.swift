import AWS
import Crypto
import Foundation
import Hugin
import OdinBasics

/// Parallel, resumable uploads of staged files to S3 (multipart above 16 MiB via AWSClient.uploadFile).
package struct Uploader: Sendable {
    package let client: AWSClient
    package let bucket: String
    package let concurrency: Int
    package var feedback: Feedback

    package init(client: AWSClient, bucket: String, concurrency: Int, feedback: Feedback = .silent) {
        self.client = client
        self.bucket = bucket
        self.concurrency = concurrency
        self.feedback = feedback
    }

    package struct Report: Sendable {
        package var uploaded = 0
        package var skipped = 0
        package var bytes: Int64 = 0
    }

    /// What happened to one file.
    enum Outcome: Sendable {
        case uploaded(bytes: Int64)
        case skipped
        case failed(String)
    }

    /// Uploads the files not already in the bucket; throws naming the failed ones (the others stay uploaded, and a
    /// re-run skips them).
    package func upload(_ plan: [(source: String, key: String)], progress: Bool) throws -> Report {
        var total: Int64 = 0
        for (source, _) in plan { total += LocalFiles.size(source) }
        let bar = feedback.meter("upload", total: total, unit: "B", shown: progress)
        let items = plan.map { UploadItem(source: $0.source, key: $0.key) }
        let client = client, bucket = bucket
        let outcomes = BlockingThreads.map(items.count, concurrency: concurrency) { index -> Outcome in
            let item = items[index]
            let size = LocalFiles.size(item.source)
            defer { bar.advance(size) }
            do {
                if try Self.alreadyUploaded(client: client, bucket: bucket, item: item, size: size) { return .skipped }
                try client.uploadFile(item.source, bucket: bucket, key: item.key, partSize: Self.partSize,
                                      concurrency: 2, resume: true)
                return .uploaded(bytes: size)
            } catch let error as CLIError {
                return .failed(error.description)
            } catch {
                return .failed("upload \(item.source) → s3://\(bucket)/\(item.key): \(error)")
            }
        }
        bar.finish()
        var report = Report()
        var errors: [String] = []
        for outcome in outcomes {
            switch outcome {
            case .uploaded(let bytes): report.uploaded += 1; report.bytes += bytes
            case .skipped: report.skipped += 1
            case .failed(let message): errors.append(message)
            }
        }
        if !errors.isEmpty {
            throw CLIError("\(Plural.count(errors.count, "upload")) failed (re-run to resume; finished files are skipped):\n  "
                           + errors.prefix(10).joined(separator: "\n  "))
        }
        return report
    }

    struct UploadItem: Sendable { var source: String; var key: String }

    /// Multipart part size (S3 keeps parts of an interrupted upload; a re-run sends only the missing ones).
    package static let partSize: Int64 = 8 << 20

    /// True when the object exists with the same size and the same content: the MD5 for a single-part ETag, the
    /// multipart ETag recomputed from the file for one made of our part size. An object another tool uploaded in
    /// other part sizes can only be checked by size.
    static func alreadyUploaded(client: AWSClient, bucket: String, item: UploadItem, size: Int64) throws -> Bool {
        let metadata: AWSClient.S3ObjectMetadata
        do { metadata = try client.headObject(bucket: bucket, key: item.key) } catch {
            if error.isNotFound { return false }
            throw CLIError("head s3://\(bucket)/\(item.key): \(error)")
        }
        guard metadata.contentLength == size else { return false }
        let eTag = (metadata.eTag ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if eTag.isEmpty { return true }
        if let dash = eTag.lastIndex(of: "-") {
            guard Int(eTag[eTag.index(after: dash)...]) == Int((size + partSize - 1) / partSize) else { return true }
            return (try? AWSClient.multipartETag(path: item.source, size: size, partSize: partSize)) == eTag
        }
        return (try? Hex.encode(MD5.hash(filePath: item.source))) == eTag
    }
}
