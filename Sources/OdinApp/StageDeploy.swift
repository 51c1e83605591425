import AWS
import Foundation
import Odin
import OdinDeploy

/// `odin deploy` and `odin destroy` for one stage: the profile (the one ProfileLoader, under `root`), the AWS
/// client, cfn-lint from the venv and the stack deployer; the lines they report go to `output` as they happen.
package struct StageDeploy: Sendable {
    package var stage: String
    package var project = "odins-ravne"
    /// `--profile`: a YAML file or a name under `<root>/profiles/`.
    package var profile: String?
    /// `--region` (default: the profile's cloud.aws.region).
    package var region: String?
    /// The package root holding infra/, functions/, profiles/ and .build/lambda/manifest.json.
    package var root = "."
    package var environment: [String: String]
    package var output: DeployOutput

    package init(stage: String, environment: [String: String], output: @escaping DeployOutput) {
        self.stage = stage
        self.environment = environment
        self.output = output
    }

    package func loadProfile() throws -> ProfileLoader.Loaded { try ProfileLoader(root: root).load(profile) }

    /// The client for `region` (else the profile's region), after printing the account it acts on (which fails
    /// early on missing credentials).
    package func client(profileRegion: String) throws -> AWSClient {
        let client: AWSClient
        do {
            client = AWSClient(configuration: try AWSClient.Configuration.fromEnvironment(
                environment, region: region ?? profileRegion))
        } catch {
            throw CLIError("\(error)")
        }
        do {
            let identity = try client.getCallerIdentity()
            output("AWS account \(identity.account) (\(identity.arn)), region \(client.region).")
        } catch {
            throw CLIError("cannot identify the AWS account: \(error.description)")
        }
        return client
    }

    /// The stack deployer, polling every ODIN_DEPLOY_POLL_SECONDS (default 5 s).
    package func stacks(_ client: AWSClient) -> StackDeployer {
        var poll = 5.0
        if let text = environment["ODIN_DEPLOY_POLL_SECONDS"], let value = Double(text), value > 0 { poll = value }
        return StackDeployer(client: client, output: output, pollSeconds: poll)
    }

    /// cfn-lint and the policy check from the project venv (`$ODIN_VENV` or <root>/.venv), or nil when absent.
    package func linter() -> TemplateLinter? {
        let venv = environment["ODIN_VENV"].flatMap { $0.isEmpty ? nil : $0 } ?? root + "/.venv"
        let cfnLint = venv + "/bin/cfn-lint"
        guard FileManager.default.isExecutableFile(atPath: cfnLint) else { return nil }
        let check = root + "/scripts/infra/check_template.py"
        return TemplateLinter(cfnLint: cfnLint, python: venv + "/bin/python",
                              policyCheck: FileManager.default.fileExists(atPath: check) ? check : nil) {
            executable, arguments in
            do {
                let result = try Tools.run(executable, arguments, check: false)
                return (result.status, result.output)
            } catch {
                return (127, "\(error)")
            }
        }
    }

    /// Deploys `mode` with the `--parameter Key=Value` overrides; `confirm` sees each change set before it runs.
    package func deploy(mode: Deployment.Mode, parameters: [String], dryRun: Bool, manifest: String?,
                        confirm: (ChangeSetPreview) -> Bool) throws -> [StackResult] {
        let loaded = try loadProfile()
        var request = Deployment.Request(stage: stage, root: root)
        request.project = project
        request.mode = mode
        request.dryRun = dryRun
        request.manifestPath = manifest
        request.overrides = try StackParameters.fromArguments(parameters)
        if mode != .lambda {
            request.profileParameters = try StackParameters.fromProfile(loaded.profile)
            if let note = StackParameters.fallbackTimeoutNote(loaded.profile) { output(note) }
            let defaults = (try? ProfileLoader(root: root).load(nil)).flatMap { $0.path == nil ? nil : $0.tree }
            request.profileParameters["ProfileJson"] = try ProfileJSON.encode(loaded.tree, defaults: defaults)
        }
        let client = try client(profileRegion: loaded.profile.compute.region)
        let deployment = Deployment(client: client, stacks: stacks(client), linter: linter())
        output("Deploying \(mode.rawValue) to stage \(stage) in \(client.region) "
               + "(profile \(loaded.path ?? "built-in defaults"))\(dryRun ? ", dry run" : "").")
        return try deployment.deploy(request, confirm: confirm)
    }

    /// The stacks and buckets `destroy` deletes, and the deployment that deletes them.
    package func destroyPlan() throws -> (deployment: Deployment, plan: Deployment.DestroyPlan) {
        let profileRegion = region ?? (try? loadProfile().profile.compute.region) ?? Profile().compute.region
        let client = try client(profileRegion: profileRegion)
        let deployment = Deployment(client: client, stacks: stacks(client), linter: nil)
        return (deployment, try deployment.destroyPlan(project: project, stage: stage))
    }
}
