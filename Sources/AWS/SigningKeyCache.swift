import Crypto
import Synchronization

/// Derived SigV4 signing keys, cached per access key, date, region and service (a key is valid for one UTC day),
/// with the byte prefixes of the string to sign and the `Authorization` value that depend on the same inputs.
/// Thread-safe; bounded (past 64 entries, e.g. after many key rotations, the oldest is dropped).
public final class SigningKeyCache: Sendable {
    /// The process-wide cache used by default.
    public static let shared = SigningKeyCache()

    struct Key: Hashable {
        var accessKeyID: String
        var date: String
        var region: String
        var service: String
    }

    struct Entry {
        var secretAccessKey: String
        var signingKey: [UInt8]
        /// HMAC-SHA256 under `signingKey`, key schedule done.
        var signer: HMACSHA256Key
        /// `<scope>\n` (after the algorithm and timestamp lines of the string to sign).
        var scopeLine: [UInt8]
        /// `AWS4-HMAC-SHA256 Credential=<key ID>/<scope>, SignedHeaders=`.
        var authorizationPrefix: [UInt8]
    }

    /// Most recently stored last. A process signs with a handful of keys (services × days), so a linear scan with
    /// string equality (short strings compare inline) beats hashing four strings on every request.
    private let entries = Mutex<[(key: Key, entry: Entry)]>([])

    public init() {}

    func entry(credentials: AWSCredentials, date: String, region: String, service: String) -> Entry? {
        entries.withLock { entries in
            for index in entries.indices.reversed() {
                let key = entries[index].key
                if key.service == service && key.date == date && key.region == region
                    && key.accessKeyID == credentials.accessKeyID {
                    let entry = entries[index].entry
                    return entry.secretAccessKey == credentials.secretAccessKey ? entry : nil
                }
            }
            return nil
        }
    }

    func store(_ entry: Entry, credentials: AWSCredentials, date: String, region: String, service: String) {
        let key = Key(accessKeyID: credentials.accessKeyID, date: date, region: region, service: service)
        entries.withLock { entries in
            entries.removeAll { $0.key == key }
            if entries.count >= 64 { entries.removeFirst() }
            entries.append((key, entry))
        }
    }

    /// Number of cached keys (for tests).
    package var count: Int { entries.withLock { $0.count } }
}
