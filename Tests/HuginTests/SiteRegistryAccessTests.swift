import FoundationEssentials
import OdinKit
import Testing

@testable import Hugin

/// S3 as a role whose s3:ListBucket is limited by prefix sees it (the Hugin job role, infra/stack.yaml): listing under
/// the allowed prefix works, but a GET or HEAD of a missing key answers 403 (not 404) because the role cannot list the
/// whole bucket. Everything else is the directory store.
struct PrefixListingS3: ObjectStore {
    let base: DirectoryObjectStore
    var rootURI: String { base.rootURI }
    func denied(_ key: String) -> ObjectStoreError { ObjectStoreError(.io, key: key, "HTTP 403 AccessDenied") }
    func get(_ key: String) throws -> [UInt8] {
        guard try base.head(key) != nil else { throw denied(key) }
        return try base.get(key)
    }
    func get(_ key: String, range: Range<Int64>) throws -> [UInt8] {
        guard try base.head(key) != nil else { throw denied(key) }
        return try base.get(key, range: range)
    }
    func head(_ key: String) throws -> ObjectInfo? {
        guard let info = try base.head(key) else { throw denied(key) }
        return info
    }
    func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
        try base.put(key, bytes: bytes, ifAbsent: ifAbsent)
    }
    func upload(file path: String, to key: String) throws -> ObjectInfo { try base.upload(file: path, to: key) }
    func download(_ key: String, to path: String) throws { try base.download(key, to: path) }
    func list(prefix: String) throws -> [ObjectInfo] { try base.list(prefix: prefix) }
    func delete(_ key: String) throws { try base.delete(key) }
}

@Suite struct SiteRegistryAccessTests {
    /// Issue 13: the first condensation of a deployment finds no `state/sites.json`; with the Hugin role's
    /// prefix-limited s3:ListBucket a HEAD would answer 403, so the registry is listed first (as priority requests are).
    @Test func missingRegistryIsListedNotProbed() throws {
        let store = PrefixListingS3(base: try makeStore())
        let registry = ObjectStoreSiteRegistryStore(store: store)
        let empty = try registry.load()
        #expect(empty.registry == nil && empty.token == nil)
        try registry.save(SiteRegistry(radiusMeters: 5), replacing: nil)
        let loaded = try registry.load()
        #expect(loaded.registry == SiteRegistry(radiusMeters: 5))
        #expect(loaded.token != nil)
    }
}
