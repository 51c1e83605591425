
/// An error from an object store, naming the store, the key and what went wrong.
public struct ObjectStoreError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case notFound
        /// A conditional write lost (the object exists, or its ETag changed).
        case preconditionFailed
        /// A key that would leave the store's root (`..`, absolute paths, NUL).
        case invalidKey
        case io
    }

    public let kind: Kind
    public let key: String
    public let message: String

    public init(_ kind: Kind, key: String, _ message: String) {
        self.kind = kind
        self.key = key
        self.message = message
    }

    public var description: String { "object store: \(key): \(message)" }
}

/// Metadata of one stored object.
public struct ObjectInfo: Sendable, Equatable, Codable {
    public var key: String
    public var size: Int64
    /// S3 ETag (quoted hex MD5 for single-part uploads) or a content hash for local stores.
    public var eTag: String?
    public var versionID: String?

    public init(key: String, size: Int64, eTag: String? = nil, versionID: String? = nil) {
        self.key = key
        self.size = size
        self.eTag = eTag
        self.versionID = versionID
    }
}

/// The object-store port: S3 in the AWS binding, a directory in the local binding. Keys use `/` separators and the
/// same layout in both (`raw/<camera>/…`, `runs/<run>/manifest.jsonl.gz`, `runs/<run>/stage1/chunk-<i>.jsonl.gz`,
/// `runs/<run>/stage3/…`).
public protocol ObjectStore: Sendable {
    /// A URI for humans and logs: `s3://bucket` or `file:///path`.
    var rootURI: String { get }
    func get(_ key: String) throws -> [UInt8]
    /// Bytes `range` (inclusive lower, exclusive upper) of the object.
    func get(_ key: String, range: Range<Int64>) throws -> [UInt8]
    func head(_ key: String) throws -> ObjectInfo?
    /// Writes the whole object atomically (readers see the old or the new object, never a mix).
    /// - Parameter ifAbsent: fail with `.preconditionFailed` when the key exists (S3 `If-None-Match: *`).
    @discardableResult
    func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo
    /// Streams a local file into the store without holding it in memory.
    @discardableResult
    func upload(file path: String, to key: String) throws -> ObjectInfo
    /// Streams an object to a local file (written to a temporary name, then renamed).
    func download(_ key: String, to path: String) throws
    /// Every object under `prefix`, sorted by key.
    func list(prefix: String) throws -> [ObjectInfo]
    func delete(_ key: String) throws
}

extension ObjectStore {
    @discardableResult
    public func put(_ key: String, bytes: [UInt8]) throws -> ObjectInfo {
        try put(key, bytes: bytes, ifAbsent: false)
    }
}

/// Checks that a relative object key is safe to map onto a directory: no empty, `.` or `..` segments, not absolute,
/// no NUL. Used by every local path built from a key, so a key from S3 can never escape its target folder.
public enum ObjectKey {
    public static func validate(_ key: String) throws(ObjectStoreError) {
        guard !key.isEmpty else { throw ObjectStoreError(.invalidKey, key: key, "empty key") }
        guard !key.hasPrefix("/") else {
            throw ObjectStoreError(.invalidKey, key: key, "absolute keys are not allowed")
        }
        guard !key.utf8.contains(0) else { throw ObjectStoreError(.invalidKey, key: key, "NUL byte in key") }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment == ".." || segment == "." {
                throw ObjectStoreError(.invalidKey, key: key,
                                       "'\(segment)' segments would leave the target folder; refusing")
            }
        }
    }

    /// `root/key` after validating `key`.
    public static func localPath(root: String, key: String) throws(ObjectStoreError) -> String {
        try validate(key)
        let trimmed = key.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        return root.hasSuffix("/") ? root + trimmed : root + "/" + trimmed
    }
}
