import Odin
import OdinKit

/// Local runs condense one at a time in the order they were sealed, whenever their chunks finish.
///
/// Hugin's site registry names a new site after the first run that condenses with points there (its id comes
/// from that run's smallest point), so the condensation order decides the site ids in every Stage 3 file but
/// media.csv. The chunks of several runs run in parallel, so the run whose last chunk ends first is a race. After an
/// interruption it is a race between different sets of chunks, because each run has a different number of chunks
/// left. Seal order does not depend on when the process was interrupted: windows are sealed in camera order, and a
/// resumed run was sealed before every run a later process seals.
/// So a run whose chunks are all terminal condenses only after every earlier-sealed run that will still condense.
/// Until then its condensation is deferred (`Deferred`; the run stays `running` with every chunk terminal).
/// `LocalPipeline.wait` condenses the deferred runs in seal order once nothing else runs, and the next
/// `odin run --local` does the same for a process that was interrupted first.
package enum CondensationOrder {
    /// A run's condensation waits for an earlier-sealed run.
    package struct Deferred: Error, CustomStringConvertible {
        package var runID: String
        package var earlier: String

        package var description: String {
            "run \(runID) condenses after run \(earlier), which was sealed before it and has not condensed yet "
                + "(runs condense in the order they were sealed, so sites keep the same ids); continue every "
                + "unfinished run with `odin run --local` again, or `odin resume \(earlier) --local` first"
        }
    }

    /// Statuses of a run that this process may still condense. Runs that wait for budget or were stopped by it
    /// continue only with `odin resume`, and failed ones only when the user resumes them, so they do not hold
    /// later runs back.
    static let pending: Set<RunRecord.Status> = [.sealing, .submitting, .running, .condensing]

    /// Seal order: the seal's time (seconds). Within one second the order of the seal loop is used: by camera (as
    /// bytes, the windows' sort order), then by run id (`<camera>-<time>` before `<camera>-<time>-2`).
    package static func precedes(_ a: RunRecord, _ b: RunRecord) -> Bool {
        if a.createdAt != b.createdAt { return a.createdAt < b.createdAt }
        let (cameraA, cameraB) = (Bytes(a.cameraID), Bytes(b.cameraID))
        if cameraA != cameraB { return cameraA < cameraB }
        return Bytes(a.runID) < Bytes(b.runID)
    }

    /// Throws `Deferred` when a run sealed before `runID` may still condense. Runs whose condensation failed in this
    /// process (`skipping`) do not count.
    package static func check(_ runID: String, state: any StateStore, skipping failed: Set<String>) throws {
        guard let run = try RunRecord.load(runID, state: state) else { return }
        for entry in try state.query(partition: Schema.activeRunsPartition, sortPrefix: "")
        where entry.key.sort != runID && !failed.contains(entry.key.sort) {
            guard let other = try RunRecord.load(entry.key.sort, state: state), pending.contains(other.status),
                  precedes(other, run) else { continue }
            throw Deferred(runID: runID, earlier: other.runID)
        }
    }
}
