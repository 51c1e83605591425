import AWS
import HTTP
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

/// The S3 binding of `ObjectStore`: one bucket, optionally under a key prefix (`s3://bucket/prefix`). Keys are
/// validated like the local store's (no `..`, no absolute keys), so both bindings accept the same keys.
/// Calls: GetObject (ranged with `Range`), HeadObject, PutObject (create-if-absent with `If-None-Match: *`),
/// PutObject/multipart upload streamed from a file, GetObject streamed into a file, ListObjectsV2, DeleteObject.
public struct S3ObjectStore: ObjectStore {
    public let client: AWSClient
    public let bucket: String
    /// Key prefix without a trailing slash ("" for the bucket root).
    public let prefix: String

    public init(client: AWSClient, bucket: String, prefix: String = "") {
        self.client = client
        self.bucket = bucket
        // The functions' store has no prefix: no split/join then (their generic metadata cost 0.12 M instructions of
        // every function's init).
        self.prefix = prefix.isEmpty ? "" : prefix.split(separator: "/").joined(separator: "/")
    }

    public var rootURI: String { "s3://" + bucket + (prefix.isEmpty ? "" : "/" + prefix) }

    func fullKey(_ key: String) throws(ObjectStoreError) -> String {
        try ObjectKey.validate(key)
        return prefix.isEmpty ? key : prefix + "/" + key
    }

    func storeError(_ error: AWSError, key: String) -> ObjectStoreError {
        if error.isNotFound || error.status == 404 {
            return ObjectStoreError(.notFound, key: key, "no such object in \(rootURI) (\(error.code))")
        }
        if error.isConditionFailure {
            return ObjectStoreError(.preconditionFailed, key: key, "\(rootURI): the object already exists")
        }
        return ObjectStoreError(.io, key: key, "\(rootURI): \(error.description)")
    }

    public func get(_ key: String) throws -> [UInt8] {
        let full = try fullKey(key)
        do throws(AWSError) {
            return try client.getObject(bucket: bucket, key: full).body
        } catch {
            throw storeError(error, key: key)
        }
    }

    public func get(_ key: String, range: Range<Int64>) throws -> [UInt8] {
        let full = try fullKey(key)
        guard !range.isEmpty else { return [] }
        guard range.lowerBound >= 0 else {
            throw ObjectStoreError(.io, key: key, "negative range start \(range.lowerBound)")
        }
        do throws(AWSError) {
            return try client.getObject(bucket: bucket, key: full,
                                        range: .bytes(range.lowerBound, range.upperBound - 1)).body
        } catch {
            // S3 answers 416 when the range starts past the end; the local store returns no bytes there.
            if error.status == 416 { return [] }
            throw storeError(error, key: key)
        }
    }

    public func head(_ key: String) throws -> ObjectInfo? {
        let full = try fullKey(key)
        do throws(AWSError) {
            let meta = try client.headObject(bucket: bucket, key: full)
            return ObjectInfo(key: key, size: meta.contentLength, eTag: meta.eTag, versionID: meta.versionID)
        } catch {
            if error.isNotFound || error.status == 404 { return nil }
            throw storeError(error, key: key)
        }
    }

    @discardableResult
    public func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
        let full = try fullKey(key)
        do throws(AWSError) {
            let result = try client.putObject(bucket: bucket, key: full, body: .bytes(bytes),
                                              contentType: Self.contentType(key), ifNoneMatch: ifAbsent)
            return ObjectInfo(key: key, size: Int64(bytes.count), eTag: result.eTag, versionID: result.versionID)
        } catch {
            throw storeError(error, key: key)
        }
    }

    @discardableResult
    public func upload(file path: String, to key: String) throws -> ObjectInfo {
        let full = try fullKey(key)
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ObjectStoreError(.io, key: key, "cannot read local file \(path): errno \(errno)")
        }
        do throws(AWSError) {
            let result = try client.uploadFile(path, bucket: bucket, key: full, contentType: Self.contentType(key))
            return ObjectInfo(key: key, size: Int64(info.st_size), eTag: result.eTag, versionID: result.versionID)
        } catch {
            throw storeError(error, key: key)
        }
    }

    public func download(_ key: String, to path: String) throws {
        let full = try fullKey(key)
        let temporary = path + ".part-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(AWSError) {
            _ = try client.getObject(bucket: bucket, key: full, downloadTo: temporary)
        } catch {
            unlink(temporary)
            throw storeError(error, key: key)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw ObjectStoreError(.io, key: key, "cannot move the download into \(path): errno \(code)")
        }
    }

    public func list(prefix keyPrefix: String) throws -> [ObjectInfo] {
        let full = prefix.isEmpty ? keyPrefix : prefix + "/" + keyPrefix
        let strip = prefix.isEmpty ? 0 : prefix.count + 1
        do throws(AWSError) {
            return try client.listAllObjects(bucket: bucket, prefix: full.isEmpty ? nil : full)
                .map { ObjectInfo(key: String($0.key.dropFirst(strip)), size: $0.size, eTag: $0.eTag) }
                .sorted { $0.key < $1.key }
        } catch {
            throw storeError(error, key: keyPrefix)
        }
    }

    public func delete(_ key: String) throws {
        let full = try fullKey(key)
        do throws(AWSError) {
            try client.deleteObject(bucket: bucket, key: full)
        } catch {
            throw storeError(error, key: key)
        }
    }

    static func contentType(_ key: String) -> String {
        if key.hasSuffix(".gz") { return "application/gzip" }
        if key.hasSuffix(".json") { return "application/json" }
        if key.hasSuffix(".jsonl") { return "application/x-ndjson" }
        return "application/octet-stream"
    }
}

/// Opens an object store from a URI: `s3://bucket[/prefix]` (AWS client configured from `environment`),
/// `file:///path` or a plain path (a local folder, created when missing). Used by the worker and Hugin executables.
public enum ObjectStores {
    public static func open(uri: String, environment: [String: String]) throws -> any ObjectStore {
        if uri.hasPrefix("s3://") {
            let rest = uri.dropFirst(5)
            let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let bucket = parts.first.map(String.init) ?? ""
            guard Self.isBucketName(bucket) else {
                throw OdinAWSError(variable: "store URI", "'\(uri)' has no valid bucket name after s3:// "
                                   + "(3–63 characters of a-z, 0-9, '.', '-'); use s3://bucket[/prefix]")
            }
            let client = try AWSBinding.makeClient(environment: environment)
            return S3ObjectStore(client: client, bucket: bucket, prefix: parts.count > 1 ? String(parts[1]) : "")
        }
        if uri.hasPrefix("file://") {
            let path = String(uri.dropFirst(7))
            guard path.hasPrefix("/") else {
                throw OdinAWSError(variable: "store URI", "'\(uri)' must be file:///absolute/path")
            }
            return try DirectoryObjectStore(root: path)
        }
        if let colon = uri.firstIndex(of: ":"), uri[..<colon].allSatisfy({ $0.isLetter }), uri[colon...].hasPrefix("://") {
            throw OdinAWSError(variable: "store URI",
                               "unsupported scheme in '\(uri)'; use s3://bucket[/prefix], file:///path or a folder path")
        }
        guard !uri.isEmpty else { throw OdinAWSError(variable: "store URI", "empty; use s3://bucket or a folder path") }
        return try DirectoryObjectStore(root: uri)
    }

    static func isBucketName(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.utf8.allSatisfy { c in
            (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 46 || c == 45
        }
    }
}
