import AWS
import Foundation
import Hugin
import Odin
import OdinAWS
import OdinBasics
import OdinKit

/// `odin setup` and `odin teardown`: opening and closing Batch capacity (the seed's `--action setup|teardown`).
package enum CapacityControl {
    /// Enables the queues and compute environments and sets maxvCpus for `jobCount` jobs (all of max_vcpus
    /// without), minvCpus to min_vcpus; `gpu` checks the instance types are GPU types.
    package static func setup(jobCount: Int?, gpu: Bool, _ context: CommandContext) throws -> Outcome {
        let profile = try context.loadProfile()
        if gpu, let type = profile.compute.instanceTypes.first(where: { !($0.hasPrefix("g") || $0.hasPrefix("p")) }) {
            throw CLIError("--gpu: instance type \(type) in cloud.aws.compute.instance_types is not a GPU type")
        }
        let maximum = jobCount.map { min(profile.compute.maxVcpus, $0 * profile.compute.vcpusPerJob) }
            ?? profile.compute.maxVcpus
        if context.local {
            return Outcome(["binding": "local", "changed": false],
                           text: "local binding: capacity exists only while `odin run --local` runs (max_parallel_jobs "
                               + "\(profile.costOptimization.maxParallelJobs)); nothing to set up")
        }
        let client = try AWSAccess.client(context)
        let deployed = try DeployedNames.resolve(context, client: client).profile
        do {
            for queue in deployed.queues {
                _ = try client.updateJobQueue(.init(jobQueue: queue, state: "ENABLED"))
            }
            for ce in deployed.computeEnvironments {
                _ = try client.updateComputeEnvironment(.init(
                    computeEnvironment: ce, state: "ENABLED",
                    computeResources: .init(minvCpus: min(profile.compute.minVcpus, maximum), maxvCpus: maximum)))
            }
        } catch { throw CLIError("setup: \(error)") }
        return Outcome(["queues": deployed.queues, "compute_environments": deployed.computeEnvironments,
                        "max_vcpus": maximum, "min_vcpus": min(profile.compute.minVcpus, maximum)],
                       text: "enabled \(deployed.queues.joined(separator: ", ")); "
                           + "\(deployed.computeEnvironments.joined(separator: ", ")) "
                           + "maxvCpus \(maximum), minvCpus \(min(profile.compute.minVcpus, maximum))")
    }

    /// Scales every compute environment to zero when no job is active (`force`: regardless). With the whole
    /// deployment known the control plane's own teardown runs (idle check, race check, recorded in the state table).
    package static func teardown(force: Bool, _ context: CommandContext) throws -> Outcome {
        if context.local {
            let last = try LocalStatus.read(root: context.localRoot, run: nil).lastTeardown
            return Outcome(["binding": "local", "last_teardown": try last?.jsonObject() ?? NSNull()],
                           text: "local binding: compute stops with each local run and tears down by itself; last "
                               + "teardown: \(last?.at ?? "none recorded")")
        }
        let client = try AWSAccess.client(context)
        if !force, let services = try? DeployedNames.awsServices(context, client: client) {
            guard try Capacity.teardownIfIdle(reason: "odin teardown", services: services) else {
                throw CLIError("teardown: jobs are still queued or running in \(services.profile.queues.joined(separator: ", ")); "
                               + "wait, or pass --force")
            }
            return Outcome(["recorded": true, "forced": false],
                           text: "torn down (minvCpus 0\(services.profile.compute.freezeOnTeardown ? ", maxvCpus 0" : "")); "
                               + "recorded in the state table")
        }
        let profile = try DeployedNames.resolve(context, client: client).profile
        var actions: [String] = []
        do {
            var active = 0
            for queue in profile.queues {
                for status in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"] {
                    active += try client.listAllJobs(.init(jobQueue: queue, jobStatus: status)).count
                }
            }
            if active > 0 && !force {
                throw CLIError("teardown: \(Plural.count(active, "job")) still queued or running in \(profile.queues.joined(separator: ", ")); "
                               + "wait, or pass --force")
            }
            for ce in try client.describeComputeEnvironments(names: profile.computeEnvironments) {
                let resources = ce.computeResources
                var update = Batch.UpdateComputeEnvironmentRequest(computeEnvironment: ce.computeEnvironmentName)
                var newResources = Batch.ComputeResources()
                var changed = false
                if (resources?.minvCpus ?? 0) != 0 { newResources.minvCpus = 0; changed = true }
                if profile.compute.freezeOnTeardown && (resources?.maxvCpus ?? 0) != 0 {
                    if (resources?.desiredvCpus ?? 0) == 0 { newResources.maxvCpus = 0; changed = true }
                    else if ce.state != "DISABLED" { update.state = "DISABLED"; changed = true }
                }
                guard changed else { continue }
                if newResources != Batch.ComputeResources() { update.computeResources = newResources }
                _ = try client.updateComputeEnvironment(update)
                actions.append("\(ce.computeEnvironmentName): minvCpus 0"
                               + (newResources.maxvCpus == 0 ? ", maxvCpus 0" : "")
                               + (update.state == "DISABLED" ? ", DISABLED until desiredvCpus drains" : ""))
            }
        } catch let error as CLIError { throw error } catch { throw CLIError("teardown: \(error)") }
        return Outcome(["actions": actions, "forced": force],
                       text: actions.isEmpty ? "already torn down" : actions.joined(separator: "\n"))
    }
}

/// `odin resume RUN` on AWS: the control plane's ResumeService over the deployed stack.
package enum RunResume {
    package static func aws(_ runID: String, _ context: CommandContext) throws -> Outcome {
        let services = try DeployedNames.awsServices(context, client: try AWSAccess.client(context))
        guard let record = try RunRecord.load(runID, state: services.state) else {
            throw CLIError("run \(runID): not found in the state table")
        }
        if record.status == .done {
            return Outcome(["run_id": runID, "status": "done", "resubmitted": false],
                           text: "run \(runID) is already done; nothing to resume")
        }
        let jobID = try ResumeService(services: services).resume(runID)
        return Outcome(["run_id": runID, "resubmitted": jobID != nil, "job_id": jobID ?? NSNull()],
                       text: jobID.map { "run \(runID): remaining chunks resubmitted as job \($0)" }
                           ?? "run \(runID): nothing left to run; condensation started")
    }
}

/// `odin submit`: one job on the worker job definition (the seed's `--action submit-job`).
package struct ManualJob {
    package var name: String
    /// The job's parameters as a JSON object.
    package var params: String
    package var onDemand: Bool

    package init(name: String, params: String, onDemand: Bool) {
        self.name = name
        self.params = params
        self.onDemand = onDemand
    }

    /// The name rule of Batch job names, as a message naming the fix; nil when valid.
    package static func nameProblem(_ name: String) -> String? {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count <= 128,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return "--name '\(name)': use 1–128 letters, digits, '-' or '_', starting with a letter or digit"
        }
        return nil
    }

    /// Each key of the JSON object as ODIN_PARAM_<KEY> (upper-cased); values must be strings, numbers or booleans.
    package static func environment(_ params: String) throws(CLIError) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(params.utf8)) as? [String: Any] else {
            throw CLIError("--params must be a JSON object, e.g. '{\"input_path\": \"/data\"}'")
        }
        var environment: [String: String] = [:]
        for (key, value) in object {
            let name = "ODIN_PARAM_" + key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            switch value {
            case let string as String: environment[String(name)] = string
            case let number as NSNumber: environment[String(name)] = number.stringValue
            default: throw CLIError("--params: '\(key)' must be a string, number or boolean")
            }
        }
        return environment
    }

    /// Submits through the functions' submitter: the stack's queues are fair-share, so every SubmitJob carries the
    /// shareIdentifier (ODIN_SHARE_IDENTIFIER, the stack's `odin`) and the default scheduling priority.
    package func submit(_ context: CommandContext) throws -> Outcome {
        if context.local {
            throw CLIError("submit targets AWS Batch; locally, jobs come from `odin run --local` (drop --local)")
        }
        let client = try AWSAccess.client(context)
        let profile = try DeployedNames.resolve(context, client: client).profile
        let queue = onDemand ? profile.compute.onDemandQueue : profile.primaryQueue
        let share = context.environment["ODIN_SHARE_IDENTIFIER"].flatMap { $0.isEmpty ? nil : $0 } ?? "odin"
        let compute = BatchCompute(client: client, shareIdentifier: share)
        do {
            let jobID = try compute.submitJob(JobSubmission(
                name: name, queue: queue, jobDefinition: profile.compute.workerJobDefinition, arraySize: 1,
                environment: try Self.environment(params),
                tags: [JobTags.project: "odins-ravne", JobTags.kind: "manual"],
                attempts: profile.compute.reclaimRetries + 1, retryOnStatusReason: [StatusReasons.reclaimPrefix + "*"]))
            return Outcome(["job_id": jobID, "job_name": name, "queue": queue],
                           text: "submitted \(name) as \(jobID) to \(queue)")
        } catch { throw CLIError("submit: \(error)") }
    }
}
