import Odin
import OdinBasics
import OdinLocal

extension LocalRun {
    /// `odin run --local`, `odin batch process --local`: the planned inputs through the local pipeline, with each
    /// camera's priority request (nil: none) written around the staging.
    /// - Parameters:
    ///   - plan: `LocalPipeline.plan` of the inputs (the command checks them, so a bad input is a usage error).
    ///   - priority: the priority request of a camera of the plan, nil for none.
    package static func execute(
        _ pipeline: LocalPipeline, plan: [(source: String, key: String)], timeout: Double, progress: Bool,
        interrupts: InterruptHooks, priority: (_ camera: String) -> RunPriority?
    ) throws -> Outcome {
        var priorities: [String: RunPriority] = [:]
        for camera in PriorityRequests.cameras(plan) { priorities[camera] = priority(camera) }
        return try execute(pipeline, plan: plan, timeout: timeout, progress: progress, interrupts: interrupts,
                           stageWith: { stage in
            try PriorityRequests.around(priorities, store: pipeline.binding.objects,
                                        ingest: pipeline.options.profile.ingest, stage)
        })
    }
}

extension LocalRun.InterruptHooks {
    /// Ctrl-C stops the workers and exits 130 (InterruptHandler).
    package static let terminal = LocalRun.InterruptHooks(
        install: { InterruptHandler.install(hint: $0, stopLaunching: $1) },
        hold: { InterruptHandler.holdIfInterrupted() })
}

extension LocalPipeline.Options {
    /// A command's local pipeline: `munin-worker` next to odin (or in `binDir`), this process's environment, notes
    /// and progress on stderr.
    package init(root: String, profile: Profile, faults: LocalCompute.Faults = .init(), binDir: String?,
                 verbose: Bool) throws {
        self.init(root: root, profile: profile, faults: faults, worker: try Tools.locate("munin-worker", binDir: binDir),
                  environment: ProcessEnvironment.snapshot(), verbose: verbose, feedback: .terminal)
    }
}
