import Crypto
import OdinBasics

/// The state-store layout: one table, `pk`/`sk`, every key built here. Item counts per operation are listed in the
/// report and checked by the benchmark.
public enum Schema {
    // MARK: - Ingest
    /// De-duplication of one object version (create-if-absent, TTL).
    public static func objectVersion(bucket: String, key: String, version: String) throws -> StateKey {
        StateKey(try bounded("obj#\(bucket)/\(key)", limit: partitionKeyLimit),
                 try bounded("v#\(version)", limit: sortKeyLimit))
    }
    /// The open collecting window of a camera (counters `count`, `version`; `lastSeen`, `openedAt`).
    public static let windowsPartition = "collect"
    public static func window(camera: String) -> StateKey { StateKey(windowsPartition, camera) }
    /// An object waiting in a camera's collecting window.
    public static func pendingPartition(camera: String) -> String { "pending#\(camera)" }
    /// The pending item of one object version: sort key `<bucket>/<key>#<version>`, or `h#<sha256 hex>` of it when
    /// that would exceed DynamoDB's 1,024-byte sort-key limit (the full key stays in the item's `key` attribute).
    public static func pending(camera: String, bucket: String, key: String, version: String) throws -> StateKey {
        StateKey(pendingPartition(camera: camera), try bounded("\(bucket)/\(key)#\(version)", limit: sortKeyLimit))
    }
    /// DynamoDB's limits on key attributes, in UTF-8 bytes.
    public static let sortKeyLimit = 1024
    public static let partitionKeyLimit = 2048

    /// `text` itself when it fits in `limit` bytes, else `h#` + the SHA-256 of its bytes in hex (66 bytes).
    static func bounded(_ text: String, limit: Int) throws -> String {
        guard text.utf8.count > limit else { return text }
        do {
            return "h#" + Hex.encode(try SHA256.hash(Array(text.utf8)))
        } catch {
            throw OdinError("state key \(text.prefix(64))…", "cannot hash a key over \(limit) bytes: \(error)")
        }
    }

    // MARK: - Runs
    public static func runPartition(_ runID: String) -> String { "run#\(runID)" }
    public static func runMeta(_ runID: String) -> StateKey { StateKey(runPartition(runID), "meta") }
    public static func runCounters(_ runID: String) -> StateKey { StateKey(runPartition(runID), "counters") }
    public static func chunkDone(_ runID: String, _ index: Int) -> StateKey {
        StateKey(runPartition(runID), "done#\(pad(index))")
    }
    public static let chunkDonePrefix = "done#"
    public static func fallbackPending(_ runID: String, _ index: Int) -> StateKey {
        StateKey(runPartition(runID), "fbpending#\(pad(index))")
    }
    public static let fallbackPendingPrefix = "fbpending#"
    public static func fallbackJob(_ runID: String, _ generation: Int64) -> StateKey {
        StateKey(runPartition(runID), "fallback#\(generation)")
    }
    public static func condensationMarker(_ runID: String) -> StateKey { StateKey(runPartition(runID), "condense") }
    public static func warmReset(_ runID: String) -> StateKey { StateKey(runPartition(runID), "warm-reset") }
    /// Index of runs not yet finished (`sk` = run id).
    public static let activeRunsPartition = "active-runs"
    public static func activeRun(_ runID: String) -> StateKey { StateKey(activeRunsPartition, runID) }
    /// Every run ever recorded (`sk` = run id), for `odin status`.
    public static let allRunsPartition = "runs"
    public static func runIndex(_ runID: String) -> StateKey { StateKey(allRunsPartition, runID) }
    /// Job id → run (for events without tags).
    public static func job(_ jobID: String) -> StateKey { StateKey("job#\(jobID)", "meta") }

    // MARK: - Events, control, ledger
    /// De-duplication of one job event: (jobId, attempts, status).
    public static func jobEvent(jobID: String, attempts: Int, status: String) -> StateKey {
        StateKey("event#\(jobID)", "\(attempts)#\(status)")
    }
    public static let controlPartition = "control"
    public static let teardown = StateKey(controlPartition, "teardown")
    public static let budgetStop = StateKey(controlPartition, "budget-stop")
    public static func ledger(month: String) -> StateKey { StateKey("ledger", month) }

    /// Zero-padded so sort-key order is index order.
    static func pad(_ index: Int) -> String {
        let text = String(index)
        return text.count >= 7 ? text : String(repeating: "0", count: 7 - text.count) + text
    }
    static func index(fromSortKey sort: String) -> Int? {
        guard let hash = sort.firstIndex(of: "#") else { return nil }
        return Int(sort[sort.index(after: hash)...])
    }
}

/// Job tags Odin sets on every job it submits; events carry them, so a child event maps to its run without a read.
public enum JobTags {
    public static let run = "odin:run"
    /// `chunks` (main array), `fallback`, `resume`, `condense`.
    public static let kind = "odin:kind"
    /// First chunk index of this array (parts of runs with > 10,000 chunks).
    public static let offset = "odin:offset"
    /// Fallback/resume generation (its index list lives in the state store).
    public static let generation = "odin:generation"
    /// The run's chunk count.
    public static let chunks = "odin:chunks"
    public static let project = "odin:project"
}

/// Status reasons the control logic recognises (aws-batch-facts.md §1.3, §1.6).
public enum StatusReasons {
    public static let runnableTimeoutPrefix = "Canceled by JobStateTimeLimit action"
    public static let reclaimPrefix = "Host EC2"
    /// Reason Odin gives when the budget guard stops jobs; such chunks are resumable, not failed.
    public static let budgetStop = "odin: stopped by budget guard"
}

/// UTC calendar helpers without Foundation's Calendar.
enum UTC {
    /// `yyyyMMdd-HHmmss`.
    static func compact(_ date: Instant) -> String {
        let (y, mo, d, h, mi, s) = parts(date)
        return "\(y)\(two(mo))\(two(d))-\(two(h))\(two(mi))\(two(s))"
    }
    /// ISO 8601 `yyyy-MM-ddTHH:mm:ssZ`.
    static func iso(_ date: Instant) -> String {
        let (y, mo, d, h, mi, s) = parts(date)
        return "\(y)-\(two(mo))-\(two(d))T\(two(h)):\(two(mi)):\(two(s))Z"
    }
    /// `yyyy-MM`.
    static func month(_ date: Instant) -> String {
        let (y, mo, _, _, _, _) = parts(date)
        return "\(y)-\(two(mo))"
    }
    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// UTC calendar fields (year, month, day, hour, minute, second) of `date`.
    static func parts(_ date: Instant) -> (Int, Int, Int, Int, Int, Int) {
        let t = CivilTime(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)))
        return (t.year, t.month, t.day, t.hour, t.minute, t.second)
    }
}
