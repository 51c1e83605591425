import Foundation
import Odin
import OdinBasics
import OdinKit

/// `--priority` on the way into the bucket: a priority request per camera (`control/priority/<camera>.json`) is
/// written before the uploads, so ingest seals the camera's next run with it, and shortened after them, so it does
/// not stick to the camera (PriorityRequest).
package enum PriorityRequests {
    /// The camera of each planned key (`raw/<camera>/…`).
    package static func cameras(_ plan: [(source: String, key: String)]) -> Set<String> {
        Set(plan.compactMap { item -> String? in
            let parts = item.key.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count >= 3 && parts[0] == "raw" ? String(parts[1]) : nil
        })
    }

    /// Writes `assignments` valid for the upload, runs `upload`, then shortens them to what ingest still needs.
    /// When the upload fails the long validity stays: what was uploaded is sealed with the requested priority, and
    /// a re-run writes the request again.
    package static func around<T>(_ assignments: [String: RunPriority], store: any ObjectStore, ingest: Profile.Ingest,
                                  clock: any WallClock = SystemClock(), _ upload: () throws -> T) throws -> T {
        try write(assignments, store: store, validFor: PriorityRequest.validityDuringUpload, clock: clock)
        let result = try upload()
        try write(assignments, store: store, validFor: PriorityRequest.validityAfterUpload(ingest), clock: clock)
        return result
    }

    package static func write(_ assignments: [String: RunPriority], store: any ObjectStore, validFor: Int64,
                              clock: any WallClock = SystemClock()) throws {
        let now = Int64(clock.now().timeIntervalSince1970)
        for priority in RunPriority.allCases {
            let cameras = assignments.filter { $0.value == priority }.map(\.key)
            guard !cameras.isEmpty else { continue }
            do {
                try PriorityRequest.write(priority, cameras: cameras, now: now, validFor: validFor, to: store)
            } catch {
                throw CLIError("--priority: cannot write the priority request to \(store.rootURI)/control/priority/: "
                               + "\(error) (the uploading identity needs s3:PutObject on control/priority/*)")
            }
        }
    }
}
