import Foundation
import Hugin
import Odin
import OdinBasics
import OdinLocal

/// A local run after its files are in the store (`odin run --local`, `odin demo`, `odin batch process --local`).
package enum LocalRun {
    package struct Outcome: Sendable {
        package var summary: LocalRunSummary
        /// Every run finished within the timeout.
        package var completed: Bool
    }

    /// Ctrl-C during a local run, handled by the command: `install` gets a hint for the user and the pipeline's
    /// halt (called first, so no worker starts while the others are stopped) before anything is staged; `hold` is
    /// called when the waiting ended, before anything is reported (the command holds there while its handler stops
    /// the workers and exits, so an interrupted run is not reported as finished).
    package struct InterruptHooks: Sendable {
        package var install: @Sendable (_ hint: String, _ halt: @escaping @Sendable () -> Void) -> Void
        package var hold: @Sendable () -> Void

        package init(install: @escaping @Sendable (String, @escaping @Sendable () -> Void) -> Void,
                     hold: @escaping @Sendable () -> Void) {
            self.install = install
            self.hold = hold
        }

        package static let none = InterruptHooks(install: { _, _ in }, hold: {})
    }

    /// Copies the planned files into the store, continues the runs an earlier, interrupted local run left
    /// unfinished, hands the files to ingest (the event S3 would send), waits for every run and measures what
    /// happened.
    /// - Parameters:
    ///   - plan: `LocalPipeline.plan` of the inputs.
    ///   - stageWith: wraps the staging (the command writes the cameras' priority requests around it).
    package static func execute(
        _ pipeline: LocalPipeline, plan: [(source: String, key: String)], timeout: Double, progress: Bool,
        interrupts: InterruptHooks = .none,
        stageWith: (_ stage: () throws -> [LocalPipeline.StagedFile]) throws -> [LocalPipeline.StagedFile] = { try $0() }
    ) throws -> Outcome {
        interrupts.install("Run the same command again to continue (every file is processed exactly once); "
                           + "`odin status --local --local-root \(pipeline.options.root)` lists unfinished runs.",
                           pipeline.halting)
        let started = Date()
        let staged = try stageWith { try pipeline.stage(plan, progress: progress) }
        let note = pipeline.options.feedback.note
        // Runs an earlier, interrupted `odin run --local` left unfinished are continued here (a budget stop is only
        // lifted by `odin resume RUN`): every file ends processed exactly once. They are continued before ingest
        // seals the windows the interruption left open, so the runs start in the order they were sealed; they
        // condense in that order whichever finishes first (`CondensationOrder`: the site registry names a site
        // after the first run that condensed with it), as without the interruption.
        let resume = ResumeService(services: pipeline.binding.services)
        var continued: [String] = []
        for record in try resume.unfinishedRuns() {
            if record.status == .stoppedByBudget {
                note("run \(record.runID) was stopped by the budget guard; continue it with "
                     + "`odin resume \(record.runID) --local --local-root \(pipeline.options.root)`")
                continue
            }
            note("continuing unfinished run \(record.runID) (\(record.status.rawValue))")
            do {
                _ = try resume.resume(record.runID, clearBudgetStop: false, takeOverLeases: true)
            } catch is CondensationOrder.Deferred {
                // Its chunks are done; it condenses after the earlier runs (`pipeline.wait`).
            }
            continued.append(record.runID)
        }
        let result = try pipeline.ingest(staged)
        if progress {
            note("ingest: \(Plural.count(result.accepted, "new object")), \(Plural.count(result.duplicates, "duplicate")), "
                 + "\(result.skippedCount) skipped; \(Plural.count(result.runsStarted.count, "run")) started: "
                 + result.runsStarted.joined(separator: ", "))
            for skip in result.skipped.prefix(5) { note("  skipped \(skip)") }
        }
        let runs = result.runsStarted + continued
        let completed = try pipeline.wait(runs: runs, timeoutSeconds: timeout, progress: progress)
        interrupts.hold()
        var summary = try pipeline.summary(runs: runs, startedAt: started, finishedAt: Date())
        summary.continuedRuns = continued
        summary.ingest = .init(accepted: result.accepted, duplicates: result.duplicates, skipped: result.skippedCount,
                               runsStarted: result.runsStarted)
        summary.completed = completed
        summary.nothingRunning = pipeline.binding.compute.isQuiescent
        return Outcome(summary: summary, completed: completed)
    }

    /// Copies each run's Stage 3 folder to `output/<run>/`.
    package static func copyStage3(_ summary: LocalRunSummary, to output: String) throws {
        let manager = FileManager.default
        for run in summary.runs where manager.fileExists(atPath: run.stage3Dir) {
            let destination = output + "/" + run.runID
            try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
            for name in try manager.contentsOfDirectory(atPath: run.stage3Dir) {
                let target = destination + "/" + name
                try? manager.removeItem(atPath: target)
                try manager.copyItem(atPath: run.stage3Dir + "/" + name, toPath: target)
            }
        }
    }
}
