import AWS
import Crypto
import FoundationEssentials
import OdinBasics

/// `odin deploy` / `odin destroy` over the two stacks of infra/README.md: the artefacts stack
/// (`<Project>-<Stage>-artefacts`) and the main stack (`<Project>-<Stage>`).
public struct Deployment: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Lint, artefacts stack, upload, main stack.
        case complete
        /// Lint, artefacts stack, main stack; no upload (the code keys must already be in S3).
        case cloudFormation = "cf"
        /// Upload, then a change set on the main stack with its deployed template and parameters, only the
        /// functions' code keys (and memory/timeout) replaced.
        case lambda
    }

    /// What to deploy.
    public struct Request: Sendable {
        public var mode: Mode = .complete
        public var project = "odins-ravne"
        public var stage: String
        /// The package root (infra/, functions/, .build/lambda/manifest.json are found from here).
        public var root: String
        /// Parameters the profile decides (`StackParameters.fromProfile`) plus `ProfileJson`.
        public var profileParameters: [String: String] = [:]
        /// `--parameter Key=Value` values (they win over every other source).
        public var overrides: [String: String] = [:]
        public var dryRun = false
        public var manifestPath: String?

        public init(stage: String, root: String) {
            self.stage = stage
            self.root = root
        }

        public var stackName: String { "\(project)-\(stage)" }
        public var artefactsStackName: String { "\(project)-\(stage)-artefacts" }
    }

    public var client: AWSClient
    public var stacks: StackDeployer
    public var output: DeployOutput
    /// Runs cfn-lint and the policy check; nil skips validation (said in the output).
    public var linter: TemplateLinter?

    public init(client: AWSClient, stacks: StackDeployer, linter: TemplateLinter?) {
        self.client = client
        self.stacks = stacks
        self.output = stacks.output
        self.linter = linter
    }

    /// Checks a stage name the way the templates do (2–10 of `[a-z0-9]`, starting with a letter).
    public static func validateStage(_ stage: String) throws(DeployError) {
        let bytes = Array(stage.utf8)
        let ok = (2...10).contains(bytes.count) && (bytes.first.map { $0 >= 0x61 && $0 <= 0x7a } ?? false)
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) }
        guard ok else {
            throw DeployError(step: "parameters", "stage '\(stage)' is not 2–10 lower-case letters or digits "
                              + "starting with a letter", fix: "pass e.g. --stage dev (or STAGE=dev)")
        }
    }

    // MARK: - Deploy

    /// Runs the deploy; returns the stack results in order. `confirm` sees each change set before it runs.
    @discardableResult
    public func deploy(_ request: Request, confirm: (ChangeSetPreview) -> Bool = { _ in true })
        throws(DeployError) -> [StackResult]
    {
        try Self.validateStage(request.stage)
        let root = request.root
        let artefactsTemplate = root + "/infra/artefacts.yaml"
        let stackTemplate = root + "/infra/stack.yaml"
        var results: [StackResult] = []

        if request.mode != .lambda {
            if let linter {
                output("Validating templates (cfn-lint, policy check) …")
                try linter.lint([artefactsTemplate, stackTemplate])
                output("Templates valid.")
            } else {
                output("Template validation skipped: no cfn-lint in the project venv (run scripts/venv.sh).")
            }
        }
        let manifest = try LambdaManifest.load(request.manifestPath ?? root + "/.build/lambda/manifest.json")

        // 1. Artefacts stack (or, for --lambda, the existing one).
        let bucket: String
        if request.mode == .lambda {
            guard let stack = try stacks.currentStack(request.artefactsStackName) else {
                throw DeployError(step: "stack", "stack \(request.artefactsStackName) does not exist",
                                  fix: "run a complete deploy first (`make deploy STAGE=\(request.stage)`)")
            }
            bucket = try artefactsBucket(stack.outputs, request)
        } else {
            let result = try stacks.deploy(
                stackName: request.artefactsStackName, template: .body(try read(artefactsTemplate)),
                parameters: ["Project": request.project, "Stage": request.stage], dryRun: request.dryRun,
                confirm: confirm)
            results.append(result)
            if result.outcome == .cancelled { return results }
            bucket = try artefactsBucket(result.outputs, request)
        }

        // 2. Function code.
        let uploader = ArtefactUploader(client: client, output: output)
        let bucketExists = request.dryRun ? ((try? client.listObjectsV2(bucket: bucket, maxKeys: 1)) != nil) : true
        switch request.mode {
        case .complete, .lambda:
            if bucketExists {
                try uploader.upload(manifest, bucket: bucket, root: root, dryRun: request.dryRun)
            } else {
                output("Dry run: bucket \(bucket) does not exist yet; \(Plural.count(manifest.deployedFunctions.count, "zip")) would be uploaded.")
            }
        case .cloudFormation:
            if bucketExists { try uploader.requirePresent(manifest, bucket: bucket) }
        }

        // 3. Main stack.
        if request.mode == .lambda {
            guard try stacks.currentStack(request.stackName) != nil else {
                throw DeployError(step: "stack", "stack \(request.stackName) does not exist",
                                  fix: "run a complete deploy first (`make deploy STAGE=\(request.stage)`)")
            }
            var parameters: [String: String]
            let template: String
            do throws(AWSError) {
                parameters = try client.stackParameterValues(name: request.stackName)
                template = try client.getTemplate(stackName: request.stackName)
            } catch {
                throw DeployError(step: "stack", "reading the deployed stack failed: \(error.description)")
            }
            for (_, function) in manifest.deployedFunctions {
                for (key, value) in function.parameters { parameters[key] = value }
            }
            // The code must run on the architecture it was built for.
            if parameters["Architecture"] != nil { parameters["Architecture"] = manifest.architecture }
            results.append(try stacks.deploy(stackName: request.stackName, template: .body(template),
                                             parameters: parameters, dryRun: request.dryRun, confirm: confirm))
            return results
        }
        var parameters = StackParameters()
        try parameters.add(["Project": request.project, "Stage": request.stage], from: "--stage")
        try parameters.add(["ArtefactsBucketName": bucket], from: "the artefacts stack")
        try parameters.add(["Architecture": manifest.architecture], from: "the deploy manifest")
        for (_, function) in manifest.deployedFunctions {
            try parameters.add(function.parameters, from: "the deploy manifest")
        }
        try parameters.add(request.profileParameters, from: "the profile")
        let stageFile = root + "/infra/parameters/\(request.stage).json"
        try parameters.add(try StackParameters.fromParameterFile(stageFile), from: "infra/parameters/\(request.stage).json")
        for note in parameters.override(request.overrides, from: "--parameter") { output("Parameter overridden: \(note)") }
        try parameters.requireAll(StackParameters.requiredInStack)
        results.append(try stacks.deploy(stackName: request.stackName, template: .body(try read(stackTemplate)),
                                         parameters: parameters.values, dryRun: request.dryRun, confirm: confirm))
        return results
    }

    /// The artefacts bucket: the stack output, or (moto returns no outputs after a change set) the name the
    /// template gives it, `<Project>-<Stage>-artefacts-<account>-<region>`.
    func artefactsBucket(_ outputs: [String: String], _ request: Request) throws(DeployError) -> String {
        if let name = outputs["ArtefactsBucketName"], !name.isEmpty { return name }
        do throws(AWSError) {
            let account = try client.getCallerIdentity().account
            return "\(request.artefactsStackName)-\(account)-\(client.region)"
        } catch {
            throw DeployError(step: "stack", "no ArtefactsBucketName output and GetCallerIdentity failed: "
                              + error.description, fix: "check the credentials")
        }
    }

    func read(_ path: String) throws(DeployError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeployError(step: "lint", "cannot read \(path)", fix: "run from the package root (or pass --root)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Destroy

    /// What `destroy` will remove.
    public struct DestroyPlan: Sendable, Equatable {
        public struct Bucket: Sendable, Equatable {
            public var stack: String
            public var name: String
            /// Object versions and delete markers found (counted up to `countLimit`).
            public var versions: Int
            public var moreThanCounted: Bool
        }
        /// Existing stacks, in deletion order.
        public var stacks: [String]
        public var buckets: [Bucket]

        public var summary: String {
            guard !stacks.isEmpty else { return "Nothing to destroy: no stack of this stage exists." }
            var lines = ["This deletes " + (stacks.count == 1 ? "stack " : "stacks ") + stacks.joined(separator: " and ")
                         + " and everything in them, including every object version in:"]
            for bucket in buckets {
                lines.append("  s3://\(bucket.name)  (\(bucket.moreThanCounted ? "more than " : "")"
                             + Plural.count(bucket.versions, "object version or delete marker", "object versions and delete markers") + ")")
            }
            if buckets.isEmpty { lines.append("  (no buckets)") }
            return lines.joined(separator: "\n")
        }
    }

    /// Looks at the stacks of `stage` and the buckets they own.
    public func destroyPlan(project: String = "odins-ravne", stage: String, countLimit: Int = 10_000)
        throws(DeployError) -> DestroyPlan
    {
        try Self.validateStage(stage)
        var plan = DestroyPlan(stacks: [], buckets: [])
        for name in ["\(project)-\(stage)", "\(project)-\(stage)-artefacts"] {
            guard try stacks.currentStack(name) != nil else { continue }
            plan.stacks.append(name)
            for bucket in try buckets(of: name) {
                var count = 0
                var keyMarker: String?, versionMarker: String?
                var more = false
                repeat {
                    guard let page = try? client.listObjectVersionsPage(bucket: bucket, keyMarker: keyMarker,
                                                                        versionIDMarker: versionMarker) else { break }
                    count += page.entries.count
                    (keyMarker, versionMarker) = (page.nextKeyMarker, page.nextVersionIDMarker)
                    if keyMarker != nil, count >= countLimit { more = true; break }
                } while keyMarker != nil
                plan.buckets.append(.init(stack: name, name: bucket, versions: count, moreThanCounted: more))
            }
        }
        return plan
    }

    /// Empties every bucket the stacks own (all versions and delete markers), then deletes the main stack and the
    /// artefacts stack, waiting for each. Call after the user confirmed `plan`.
    public func destroy(_ plan: DestroyPlan) throws(DeployError) {
        for stack in plan.stacks {
            for bucket in plan.buckets where bucket.stack == stack {
                try empty(bucket: bucket.name)
            }
            try stacks.delete(stackName: stack)
        }
    }

    /// Deletes every object version and delete marker of `bucket` (a missing bucket is already empty).
    public func empty(bucket: String) throws(DeployError) {
        var deleted = 0
        while true {
            let page: [ObjectVersion]
            do throws(AWSError) {
                page = try client.listObjectVersionsPage(bucket: bucket).entries
            } catch where error.code == "NoSuchBucket" {
                output("Bucket \(bucket) is already gone.")
                return
            } catch {
                throw DeployError(step: "destroy", "listing s3://\(bucket) failed: \(error.description)")
            }
            if page.isEmpty { break }
            var index = 0
            while index < page.count {
                let batch = Array(page[index..<min(index + 1000, page.count)])
                do throws(AWSError) {
                    try client.deleteObjectVersions(bucket: bucket, batch)
                } catch {
                    throw DeployError(step: "destroy", "emptying s3://\(bucket) failed after \(Plural.count(deleted, "version")): "
                                      + error.description, fix: "check the permissions (s3:DeleteObjectVersion), then run destroy again")
                }
                deleted += batch.count
                index += batch.count
            }
            output("Emptying s3://\(bucket): \(Plural.count(deleted, "version")) deleted …")
        }
        output("Bucket s3://\(bucket) is empty (\(Plural.count(deleted, "version or delete marker", "versions and delete markers")) deleted).")
    }

    func buckets(of stack: String) throws(DeployError) -> [String] {
        do throws(AWSError) {
            return try client.listStackResources(name: stack)
                .filter { $0.type == "AWS::S3::Bucket" && !$0.physicalID.isEmpty }.map(\.physicalID)
        } catch {
            throw DeployError(step: "destroy", "ListStackResources \(stack) failed: \(error.description)")
        }
    }
}

/// Validates templates before a deploy (cfn-lint and scripts/infra/check_template.py from the project venv).
public struct TemplateLinter: Sendable {
    /// Runs a program with arguments; returns its exit status and combined output.
    public typealias Runner = @Sendable (_ executable: String, _ arguments: [String]) -> (status: Int32, output: String)

    public var cfnLint: String
    public var python: String
    public var policyCheck: String?
    public var run: Runner

    public init(cfnLint: String, python: String, policyCheck: String?, run: @escaping Runner) {
        self.cfnLint = cfnLint
        self.python = python
        self.policyCheck = policyCheck
        self.run = run
    }

    public func lint(_ templates: [String]) throws(DeployError) {
        let lint = run(cfnLint, templates)
        guard lint.status == 0 else {
            throw DeployError(step: "lint", "cfn-lint found problems (exit \(lint.status)):\n" + lint.output,
                              fix: "fix the templates; nothing was deployed")
        }
        if let policyCheck {
            let check = run(python, [policyCheck] + templates)
            guard check.status == 0 else {
                throw DeployError(step: "lint", "policy check failed (exit \(check.status)):\n" + check.output,
                                  fix: "fix the templates; nothing was deployed")
            }
        }
    }
}

/// Uploads the function zips under their content-hash keys, skipping keys that already exist.
public struct ArtefactUploader: Sendable {
    public var client: AWSClient
    public var output: DeployOutput

    public init(client: AWSClient, output: @escaping DeployOutput) {
        self.client = client
        self.output = output
    }

    /// Returns the keys uploaded (the others existed already).
    @discardableResult
    public func upload(_ manifest: LambdaManifest, bucket: String, root: String, dryRun: Bool = false)
        throws(DeployError) -> [String]
    {
        var uploaded: [String] = []
        for (name, function) in manifest.deployedFunctions {
            if try exists(bucket: bucket, key: function.key) {
                output("  \(name): s3://\(bucket)/\(function.key) exists, skipped")
                continue
            }
            let path = function.zip.hasPrefix("/") ? function.zip : root + "/" + function.zip
            let hash: [UInt8]
            do throws(CryptoError) {
                hash = try SHA256.hash(filePath: path)
            } catch {
                throw DeployError(step: "upload", "cannot read \(path): \(error.description)",
                                  fix: "run `make package` again")
            }
            guard Hex.encode(hash) == function.sha256 else {
                throw DeployError(step: "upload", "\(path) no longer matches the manifest (SHA-256 differs)",
                                  fix: "run `make package` again (the zip changed after packaging)")
            }
            if dryRun {
                output("  \(name): would upload \(function.bytes) bytes to s3://\(bucket)/\(function.key)")
                continue
            }
            do throws(AWSError) {
                try client.uploadFile(path, bucket: bucket, key: function.key, contentType: "application/zip")
            } catch {
                throw DeployError(step: "upload", "uploading \(path) failed: \(error.description)")
            }
            output("  \(name): uploaded \(function.bytes) bytes to s3://\(bucket)/\(function.key)")
            uploaded.append(function.key)
        }
        return uploaded
    }

    /// Fails naming the first code key that is not in the bucket (`--cf` uploads nothing).
    public func requirePresent(_ manifest: LambdaManifest, bucket: String) throws(DeployError) {
        for (name, function) in manifest.deployedFunctions where try !exists(bucket: bucket, key: function.key) {
            throw DeployError(step: "upload", "\(name)'s code s3://\(bucket)/\(function.key) is not uploaded",
                              fix: "deploy with --complete or --lambda (they upload), or `make package` the deployed build")
        }
    }

    func exists(bucket: String, key: String) throws(DeployError) -> Bool {
        do throws(AWSError) {
            _ = try client.headObject(bucket: bucket, key: key)
            return true
        } catch where error.isNotFound || error.status == 404 {
            return false
        } catch {
            throw DeployError(step: "upload", "HeadObject s3://\(bucket)/\(key) failed: \(error.description)")
        }
    }
}
