import JSONCoding
import OdinKit

/// A run's scheduling priority. Both job queues share one fair-share scheduling policy and every job is submitted
/// with the same share identifier, so within the share Batch starts jobs with a higher
/// `schedulingPriorityOverride` first (infra/README.md, "Priority scheduling"). The local binding orders its
/// RUNNABLE jobs the same way.
///
/// How a priority reaches a run: `odin run --priority P` writes a per-camera request (`PriorityRequest`) before it
/// uploads; the sealer copies the camera's request into the run record when it seals a window, and every job of the
/// run (chunks, On-Demand fallbacks, resumes, condensation) is submitted with it.
public enum RunPriority: String, Sendable, Equatable, CaseIterable, Codable {
    case high, normal, low

    /// The fair-share `schedulingPriorityOverride` (0–9999; higher starts first within the share).
    public var schedulingPriority: Int {
        switch self {
        case .high: 300
        case .normal: 200
        case .low: 100
        }
    }

    /// `high`, `normal`, `low` or a number 0…9999 (the functions' ODIN_PRIORITY): the scheduling priority, or nil
    /// when the text is neither.
    public static func schedulingPriority(parsing text: String) -> Int? {
        if let named = RunPriority(rawValue: text) { return named.schedulingPriority }
        guard let number = Int(text), (0...9999).contains(number) else { return nil }
        return number
    }
}

/// A camera's priority request, as `odin run --priority` writes it to `control/priority/<camera>.json`.
///
/// It expires so that a one-off `--priority high` does not stick to a camera forever: `odin run` writes it with a
/// long expiry before uploading (a big dump can upload for hours) and shortens it when the upload is done, to the
/// time ingest may still take to seal the last window (settle + max wait, plus an hour of slack). A later
/// `odin run` for the same camera replaces it: the latest request wins.
public struct PriorityRequest: Sendable, Equatable, Codable {
    public var priority: RunPriority
    /// Epoch seconds.
    public var setAt: Int64
    /// Epoch seconds; the request is ignored from then on.
    public var expiresAt: Int64
    /// Who wrote it (`odin run`), for people reading the bucket.
    public var source: String

    enum CodingKeys: String, CodingKey {
        case priority, source
        case setAt = "set_at"
        case expiresAt = "expires_at"
    }

    public init(priority: RunPriority, setAt: Int64, expiresAt: Int64, source: String = "odin run") {
        self.priority = priority
        self.setAt = setAt
        self.expiresAt = expiresAt
        self.source = source
    }

    /// The object key of a camera's request.
    public static func key(camera: String) -> String { "control/priority/\(camera).json" }

    /// How long after an upload finishes a request stays valid: ingest seals a window at the latest
    /// `max_wait_seconds` after it opened and `settle_seconds` after its last upload; the sweeper runs every few
    /// minutes; an hour of slack covers a slow sweeper.
    public static func validityAfterUpload(_ ingest: Profile.Ingest) -> Int64 {
        Int64(ingest.settleSeconds + ingest.maxWaitSeconds) + 3600
    }

    /// Validity while an upload is still running (a resumed upload writes the request again).
    public static let validityDuringUpload: Int64 = 7 * 86_400

    /// Writes the request for every camera.
    public static func write(_ priority: RunPriority, cameras: some Sequence<String>, now: Int64, validFor: Int64,
                             to store: any ObjectStore) throws {
        let bytes = try JSONCoder.encode(PriorityRequest(priority: priority, setAt: now, expiresAt: now + validFor))
        for camera in Set(cameras).sorted() { try store.put(key(camera: camera), bytes: bytes) }
    }

    /// The camera's request at `now`: nil when there is none or it expired. A request that cannot be read is
    /// reported through `problem` (and ignored): a bad control object must not stop a run from being sealed.
    public static func current(camera: String, now: Int64, store: any ObjectStore,
                               problem: (String) -> Void) -> RunPriority? {
        let key = key(camera: camera)
        let bytes: [UInt8]
        do {
            // Listed first: S3 answers a GET of a missing key with 403, not 404, to a role whose s3:ListBucket is
            // limited by prefix (as the functions' roles are), which would read as an error.
            guard try store.list(prefix: key).contains(where: { $0.key == key }) else { return nil }
            bytes = try store.get(key)
        } catch let error as ObjectStoreError where error.kind == .notFound {
            return nil
        } catch {
            problem("\(key): \(error); the run keeps the default priority")
            return nil
        }
        do {
            let request = try JSONCoder.decode(PriorityRequest.self, from: bytes)
            return request.expiresAt > now ? request.priority : nil
        } catch {
            problem("\(key) is not a priority request ({\"priority\": \"high|normal|low\", \"set_at\": EPOCH, "
                    + "\"expires_at\": EPOCH, \"source\": TEXT}): \(error); rewrite it with `odin run --priority` "
                    + "or delete it; the run keeps the default priority")
            return nil
        }
    }
}
