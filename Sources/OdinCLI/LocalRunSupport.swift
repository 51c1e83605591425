import ArgumentParser
import Foundation
import Odin
import OdinApp
import OdinBasics
import OdinLocal

extension Feedback {
    /// Notes on stderr and progress bars (ProgressBar) there.
    static let terminal = Feedback(note: { Terminal.error($0) }, meter: { label, total, unit in
        let bar = ProgressBar(label, total: total, unit: unit)
        return .init(advance: { bar.advance(by: $0) }, finish: { bar.finish() })
    })
}

extension LocalRun.InterruptHooks {
    /// Ctrl-C stops the workers and exits 130 (InterruptHandler).
    static let terminal = LocalRun.InterruptHooks(install: { InterruptHandler.install(hint: $0, stopLaunching: $1) },
                                                  hold: { InterruptHandler.holdIfInterrupted() })
}

extension LocalPipeline.Options {
    /// A command's local pipeline: `munin-worker` next to odin (or in `binDir`), this process's environment, notes
    /// and progress on stderr.
    init(root: String, profile: Profile, faults: LocalCompute.Faults = .init(), binDir: String?, verbose: Bool) throws {
        self.init(root: root, profile: profile, faults: faults, worker: try Tools.locate("munin-worker", binDir: binDir),
                  environment: ProcessEnvironment.snapshot(), verbose: verbose, feedback: .terminal)
    }
}

extension LocalRun {
    /// `odin run --local`, `odin batch process --local`: the inputs through the local pipeline, with each camera's
    /// priority request (nil: none) written around the staging, and Ctrl-C handled.
    static func execute(_ pipeline: LocalPipeline, inputs: [String], camera: String?, timeout: Double, progress: Bool,
                        priority: (_ camera: String) -> RunPriority? = { _ in nil }) throws -> Outcome {
        let plan = try usage { try LocalPipeline.plan(inputs, camera: camera) }
        var priorities: [String: RunPriority] = [:]
        for camera in PriorityRequests.cameras(plan) { priorities[camera] = priority(camera) }
        return try execute(pipeline, plan: plan, timeout: timeout, progress: progress, interrupts: .terminal) { stage in
            try PriorityRequests.around(priorities, store: pipeline.binding.objects,
                                        ingest: pipeline.options.profile.ingest, stage)
        }
    }
}
