import AWS
import Compression
import Crypto
import Foundation
import HTTP
import Odin
import OdinBasics
@testable import OdinDeploy
import Synchronization
import TestSupport
import Testing

/// Collects progress lines.
final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    var output: DeployOutput { { line in self.lines.withLock { $0.append(line) } } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

/// A private moto_server per suite run (CloudFormation state is global per server), or nil after recording a failure
/// saying why it did not start. Suites using it declare `.requires(.venv)`.
enum DeployMoto {
    static let shared: Result<MotoServer, any Error> = Result { try MotoServer() }

    static func require() -> MotoServer? {
        switch shared {
        case .success(let moto): return moto
        case .failure(let error):
            Issue.record("moto_server did not start: \(error)")
            return nil
        }
    }

    static func client(_ moto: MotoServer) -> AWSClient {
        var retry = RetryStrategy()
        retry.maxAttempts = 1  // moto answers some failures with HTTP 500; do not retry them
        return AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1",
            credentials: StaticCredentialsProvider(AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing")),
            endpoints: AWSEndpointResolver(globalOverride: ContractProxy.endpoint(for: moto.endpoint)), retry: retry,
            random: { 0 }, sleep: { _ in }))
    }

    static func deployer(_ client: AWSClient, _ lines: Lines) -> StackDeployer {
        StackDeployer(client: client, output: lines.output, pollSeconds: 0.05, maxWaitSeconds: 120)
    }

    static func unique(_ prefix: String) -> String {
        prefix + String(UUID().uuidString.lowercased().filter(\.isLetter).prefix(6))
    }
}

@Suite struct DeployLogicTests {
    @Test func rootCauseSkipsCancelledFollowUps() {
        func event(_ id: String, _ logical: String, _ type: String, _ status: String, _ reason: String?)
            -> StackDeployer.EventSummary
        {
            StackDeployer.EventSummary(logicalID: logical, type: type, status: status, reason: reason)
        }
        let events = [
            event("1", "app", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
            event("2", "Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Resource creation cancelled"),
            event("3", "Table", "AWS::DynamoDB::Table", "CREATE_FAILED", "Invalid KeySchema: attribute pk missing"),
            event("4", "app", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed"),
            event("5", "app", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", nil),
        ]
        let cause = StackDeployer.rootCause(events, stackName: "app")
        #expect(cause == FailedResource(logicalID: "Table", resourceType: "AWS::DynamoDB::Table",
                                        status: "CREATE_FAILED", reason: "Invalid KeySchema: attribute pk missing"))
        #expect(StackDeployer.rootCause(Array(events.prefix(1)), stackName: "app") == nil)
        #expect(StackDeployer.stateAdvice("ROLLBACK_COMPLETE", stackName: "app").contains("holds no resources"))
        #expect(StackDeployer.stateAdvice("UPDATE_ROLLBACK_COMPLETE", stackName: "app").contains("previous version"))
    }

    @Test func terminalStatesAndChangeSetNames() {
        #expect(StackDeployer.isTerminal("CREATE_COMPLETE"))
        #expect(StackDeployer.isTerminal("UPDATE_ROLLBACK_FAILED"))
        #expect(!StackDeployer.isTerminal("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"))
        #expect(!StackDeployer.isTerminal("REVIEW_IN_PROGRESS"))
        #expect(StackDeployer.changeSetName(Instant(timeIntervalSince1970: 1_795_921_262)) == "odin-20261129T030102")
    }

    @Test func parametersFromTheProfileNameTheKeyAWSRejects() throws {
        // The default profile's fallback_timeout (300 s) is below AWS Batch's 600 s minimum: the queue gets 600 s
        // and the deploy says so.
        #expect(try StackParameters.fromProfile(Profile())["FallbackTimeoutSeconds"] == "600")
        let note = try #require(StackParameters.fallbackTimeoutNote(Profile()))
        #expect(note.contains("pipeline.cost_optimization.fallback_timeout") && note.contains("600"))
        var tooLong = Profile()
        tooLong.costOptimization.fallbackTimeout = 90_000
        #expect(throws: DeployError.self) { try StackParameters.fromProfile(tooLong) }
        var profile = Profile()
        profile.costOptimization.fallbackTimeout = 900
        let values = try StackParameters.fromProfile(profile)
        #expect(values["FallbackTimeoutSeconds"] == "900")
        #expect(values["GpuInstanceTypes"] == "g4dn.xlarge,g4dn.2xlarge")
        #expect(values["SpotBidPercentage"] == "70")
        #expect(values["TransitionToGlacierDays"] == "90")
        #expect(values["BudgetAmount"] == "100")
        profile.lifecycle.transitionToGlacier = 40
        #expect(throws: DeployError.self) { try StackParameters.fromProfile(profile) }
    }

    @Test func conflictingSourcesAreAnErrorAndOverridesWin() throws {
        var parameters = StackParameters()
        try parameters.add(["Stage": "dev", "LogRetentionDays": "14"], from: "infra/parameters/dev.json")
        try parameters.add(["Stage": "dev"], from: "--stage")
        #expect(throws: DeployError.self) { try parameters.add(["LogRetentionDays": "30"], from: "the profile") }
        let notes = parameters.override(["LogRetentionDays": "7"], from: "--parameter")
        #expect(parameters.values["LogRetentionDays"] == "7")
        #expect(notes.count == 1)
        do {
            try parameters.requireAll(["VpcId": "--parameter VpcId=…", "Stage": "--stage"])
            Issue.record("missing VpcId not reported")
        } catch {
            #expect(error.message == "no value for VpcId")
            #expect(error.fix.contains("--parameter VpcId"))
        }
        #expect(throws: DeployError.self) { try StackParameters.fromArguments(["=x"]) }
        #expect(try StackParameters.fromArguments(["A=b=c"]) == ["A": "b=c"])
    }

    @Test func profileJSONIsCompactAndDropsDefaultsWhenTooLong() throws {
        let defaults = ConfigValue.map(["budget": .map(["amount": .number(100), "currency": .string("USD")]),
                                        "name": .string("default")])
        let tree = ConfigValue.map(["budget": .map(["amount": .number(250), "currency": .string("USD")]),
                                    "name": .string("lab \"A\"")])
        #expect(try ProfileJSON.encode(tree, defaults: defaults)
                == #"{"budget":{"amount":250,"currency":"USD"},"name":"lab \"A\""}"#)
        #expect(try ProfileJSON.encode(tree, defaults: defaults, limit: 50) == #"{"budget":{"amount":250},"name":"lab \"A\""}"#)
        #expect(throws: DeployError.self) { try ProfileJSON.encode(tree, defaults: defaults, limit: 10) }
        // The pruned JSON still reads back to the same profile.
        let pruned = try ProfileJSON.encode(tree, defaults: defaults, limit: 50)
        #expect(try ConfigValue.parseJSON(Array(pruned.utf8)) == .map(["budget": .map(["amount": .number(250)]),
                                                                     "name": .string("lab \"A\"")]))
    }

    /// OdinDeploy stays Foundation-light (FoundationEssentials only) and never reads YAML (the CLI does).
    @Test func odinDeployImportsNeitherFoundationNorYams() throws {
        let base = Peers.packageRoot + "/Sources/OdinDeploy"
        let files = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOfFile: base + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                #expect(!["import Foundation", "import Yams"].contains(String(line)), "OdinDeploy/\(file): \(line)")
            }
        }
    }

    @Test func stageNamesFollowTheTemplate() {
        #expect(throws: Never.self) { try Deployment.validateStage("dev") }
        for bad in ["d", "Dev", "1dev", "dev-1", "abcdefghijk"] {
            #expect(throws: DeployError.self) { try Deployment.validateStage(bad) }
        }
    }
}

@Suite(.serialized, .requires(.venv)) struct DeployMotoTests {
    static let bucketTemplate = """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Name: {Type: String}
        Resources:
          Bucket:
            Type: AWS::S3::Bucket
            Properties:
              BucketName: !Ref Name
              VersioningConfiguration: {Status: Enabled}
        """

    @Test func createThenUpdateThroughChangeSetsWithEvents() throws {
        guard let moto = DeployMoto.require() else { return }
        let client = DeployMoto.client(moto)
        let lines = Lines()
        let deployer = DeployMoto.deployer(client, lines)
        let stack = DeployMoto.unique("small")
        let created = try deployer.deploy(stackName: stack, template: .body(Self.bucketTemplate),
                                          parameters: ["Name": stack + "-a"])
        #expect(created.outcome == .created)
        #expect(created.status == "CREATE_COMPLETE")
        #expect(created.changes.map(\.logicalResourceID) == ["Bucket"])
        #expect(created.changes.first?.action == "Add")
        // Events were streamed (moto reports stack-level events only).
        #expect(created.events.contains { $0.resourceStatus == "CREATE_COMPLETE" })
        #expect(lines.text.contains("Change set odin-"))
        #expect(lines.text.contains("CREATE_COMPLETE"))

        // Update with a change: a second resource.
        let bigger = Self.bucketTemplate + """

              Topic:
                Type: AWS::SNS::Topic
            """
        let updated = try deployer.deploy(stackName: stack, template: .body(bigger), parameters: ["Name": stack + "-a"])
        #expect(updated.outcome == .updated)
        #expect(updated.status == "UPDATE_COMPLETE")
        #expect(updated.changes.contains { $0.logicalResourceID == "Topic" && $0.action == "Add" })
        #expect(updated.events.contains { $0.resourceStatus == "UPDATE_COMPLETE" })
        let events = try client.describeStackEvents(name: stack)
        #expect(events.contains { $0.resourceStatus == "UPDATE_COMPLETE" })

        // Dry run: shown, deleted, nothing changes.
        let third = bigger + """

              Queue:
                Type: AWS::SQS::Queue
            """
        let dry = try deployer.deploy(stackName: stack, template: .body(third), parameters: ["Name": stack + "-a"],
                                      dryRun: true)
        #expect(dry.outcome == .dryRun)
        #expect(dry.changes.contains { $0.logicalResourceID == "Queue" })
        #expect(try client.listStackResources(name: stack).map(\.logicalID).sorted() == ["Bucket", "Topic"])

        try deployer.delete(stackName: stack)
        #expect(try deployer.currentStack(stack) == nil)
    }

    @Test func failingDeployReportsReasonAndKnownState() throws {
        guard let moto = DeployMoto.require() else { return }
        let client = DeployMoto.client(moto)
        let lines = Lines()
        let deployer = DeployMoto.deployer(client, lines)
        let stack = DeployMoto.unique("broken")
        // A function whose code bucket does not exist: moto refuses ExecuteChangeSet.
        let template = """
            Resources:
              Fn:
                Type: AWS::Lambda::Function
                Properties:
                  Runtime: provided.al2023
                  Handler: bootstrap
                  Role: arn:aws:iam::123456789012:role/none
                  Code: {S3Bucket: \(stack)-missing, S3Key: code.zip}
            """
        do {
            _ = try deployer.deploy(stackName: stack, template: .body(template), parameters: [:])
            Issue.record("deploy of a broken template succeeded")
        } catch {
            #expect(error.step == "execute")
            #expect(error.message.contains("NoSuchBucket"))
            // moto writes no per-resource events, so it names no resource; the state is still known.
            #expect(error.stackStatus == "REVIEW_IN_PROGRESS")
            #expect(error.fix.contains("nothing was created"))
            #expect(error.description.contains("stack status: REVIEW_IN_PROGRESS"))
        }
        // A redeploy of a fixed template replaces the empty shell.
        let fixed = DeployMotoTests.bucketTemplate
        let result = try deployer.deploy(stackName: stack, template: .body(fixed), parameters: ["Name": stack + "-b"])
        #expect(result.outcome == .created)
        #expect(lines.text.contains("deleting it before creating it again"))
        try deployer.delete(stackName: stack)
    }

    @Test func destroyEmptiesVersionedBucketsThenDeletesTheStacks() throws {
        guard let moto = DeployMoto.require() else { return }
        let client = DeployMoto.client(moto)
        let lines = Lines()
        let deployer = DeployMoto.deployer(client, lines)
        let stage = DeployMoto.unique("d").prefix(8).description
        let project = "odtest"
        let stack = "\(project)-\(stage)"
        let bucket = stack + "-data"
        _ = try deployer.deploy(stackName: stack, template: .body(Self.bucketTemplate), parameters: ["Name": bucket])
        // moto's CloudFormation ignores VersioningConfiguration (local-aws.md): switch versioning on through S3.
        let versioning = #"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#
        _ = try client.send(HTTPRequest(method: "PUT", url: client.s3URL(bucket: bucket, query: "versioning"),
                                        headers: HTTPHeaders([("Content-Type", "application/xml")]),
                                        body: .bytes(Array(versioning.utf8))),
                            operation: AWSOperation(.s3, "PutBucketVersioning"))
        // Two versions of one key, a delete marker on another, and a plain object.
        try client.putObject(bucket: bucket, key: "raw/a.jpg", body: .bytes([1]))
        try client.putObject(bucket: bucket, key: "raw/a.jpg", body: .bytes([2]))
        try client.putObject(bucket: bucket, key: "raw/b.jpg", body: .bytes([3]))
        try client.deleteObject(bucket: bucket, key: "raw/b.jpg")
        try client.putObject(bucket: bucket, key: "runs/c.json", body: .bytes([4]))

        let deployment = Deployment(client: client, stacks: deployer, linter: nil)
        let plan = try deployment.destroyPlan(project: project, stage: stage)
        #expect(plan.stacks == [stack])
        #expect(plan.buckets.map(\.name) == [bucket])
        #expect(plan.buckets.first?.versions == 5)
        #expect(plan.summary.contains("s3://\(bucket)"))
        try deployment.destroy(plan)
        #expect(try deployer.currentStack(stack) == nil)
        #expect(throws: AWSError.self) { _ = try client.listObjectVersionsPage(bucket: bucket) }
        #expect(lines.text.contains("5 versions and delete markers deleted"))
        // Nothing left: a second destroy says so.
        #expect(try deployment.destroyPlan(project: project, stage: stage).stacks.isEmpty)
    }

    /// The real templates end to end through `Deployment` (lint skipped here: InfraTests runs cfn-lint).
    @Test func realStackDeploysThroughOurClient() throws {
        guard let moto = DeployMoto.require() else { return }
        let client = DeployMoto.client(moto)
        let lines = Lines()
        let deployer = DeployMoto.deployer(client, lines)
        let stage = DeployMoto.unique("r").prefix(8).description
        let fixture = try RealStackFixture(client: client, stage: stage)
        defer { fixture.remove() }
        let root = fixture.root, manifest = fixture.manifest
        var profile = Profile()
        profile.costOptimization.fallbackTimeout = 600
        var request = Deployment.Request(stage: stage, root: root)
        request.manifestPath = manifest
        request.profileParameters = try StackParameters.fromProfile(profile)
        request.profileParameters["ProfileJson"] = #"{"name":"test"}"#
        request.overrides = fixture.overrides
        let deployment = Deployment(client: client, stacks: deployer, linter: nil)
        // A dry run on a fresh stage shows both change sets and leaves nothing behind.
        request.dryRun = true
        let dry = try deployment.deploy(request)
        #expect(dry.map(\.outcome) == [.dryRun, .dryRun], "\(lines.text)")
        #expect(dry.last?.changes.contains { $0.logicalResourceID == "SpotJobQueue" } == true)
        #expect(lines.text.contains("does not exist yet; 4 zips would be uploaded"))
        #expect(try deployer.currentStack("odins-ravne-\(stage)") == nil)
        #expect(try deployer.currentStack("odins-ravne-\(stage)-artefacts") == nil)
        request.dryRun = false
        let results = try deployment.deploy(request)
        #expect(results.map(\.outcome) == [.created, .created], "\(lines.text)")
        #expect(results.last?.changes.contains { $0.logicalResourceID == "DataBucket" } == true)
        #expect(lines.text.contains("uploaded"))

        // --cf: stacks only; the zips are already there, nothing is uploaded.
        let uploadsBefore = lines.text.components(separatedBy: "uploaded").count
        request.mode = .cloudFormation
        let again = try deployment.deploy(request)
        #expect(again.count == 2, "\(lines.text)")
        #expect(lines.text.components(separatedBy: "uploaded").count == uploadsBefore)

        // --lambda: a new ingest build is uploaded (the others are skipped) and only its code key changes.
        let newKey = try fixture.writeFunction("ingest", version: 2)
        request.mode = .lambda
        let lambda = try deployment.deploy(request)
        #expect(lambda.count == 1)
        #expect(lines.text.contains("exists, skipped"))
        #expect(lines.text.contains("uploaded") && lines.text.contains(newKey))
        let deployed = try client.stackParameterValues(name: "odins-ravne-\(stage)")
        #expect(deployed["IngestCodeKey"] == newKey)
        #expect(deployed["VpcId"] == fixture.overrides["VpcId"])

        let plan = try deployment.destroyPlan(stage: stage)
        #expect(plan.stacks == ["odins-ravne-\(stage)", "odins-ravne-\(stage)-artefacts"])
        try deployment.destroy(plan)
        #expect(try deployer.currentStack("odins-ravne-\(stage)") == nil)
    }

    /// `odin deploy` and `odin destroy` as a user runs them (profile YAML, cfn-lint from .venv, moto endpoint).
    @Test(.requires(.odin)) func cliDeployThenDestroy() throws {
        guard let moto = DeployMoto.require() else { return }
        let odin = TestEnvironment.binary("odin")
        let client = DeployMoto.client(moto)
        let stage = DeployMoto.unique("c").prefix(8).description
        let fixture = try RealStackFixture(client: client, stage: stage)
        defer { fixture.remove() }
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ENDPOINT_URL"] = ContractProxy.endpoint(for: moto.endpoint)  // model-checked (make test)
        environment["AWS_ACCESS_KEY_ID"] = "testing"
        environment["AWS_SECRET_ACCESS_KEY"] = "testing"
        environment["ODIN_DEPLOY_POLL_SECONDS"] = "0.05"
        environment["ODIN_VENV"] = Peers.venv ?? ""
        environment.removeValue(forKey: "STAGE")
        let common = ["--stage", stage, "--root", fixture.root, "--region", "us-east-1"]
        let parameters = fixture.overrides.sorted { $0.key < $1.key }.flatMap { ["--parameter", "\($0.key)=\($0.value)"] }

        // The default profile (fallback_timeout 300 s) deploys with AWS's 600 s minimum and a note saying so.
        let dry = try Peers.run(odin, ["deploy"] + common + ["--manifest", fixture.manifest, "--yes", "--dry-run"]
                                + parameters, environment: environment)
        #expect(dry.status == 0, "\(dry.stdout)\n\(dry.stderr)")
        #expect((dry.stdout + dry.stderr).contains("falls back to On-Demand after 600 s"), "\(dry.stdout)")

        let profile = fixture.root + "/lab.yaml"
        let yaml = try String(contentsOfFile: Peers.packageRoot + "/profiles/default.yaml", encoding: .utf8)
            .replacingOccurrences(of: "fallback_timeout: 300", with: "fallback_timeout: 600")
        try yaml.write(toFile: profile, atomically: true, encoding: .utf8)
        let deploy = try Peers.run(odin, ["deploy"] + common + ["--profile", profile, "--manifest", fixture.manifest,
                                                               "--yes"] + parameters, environment: environment)
        #expect(deploy.status == 0, "\(deploy.stdout)\n\(deploy.stderr)")
        #expect(deploy.stdout.contains("Templates valid."))  // cfn-lint from the venv the suite requires
        #expect(deploy.stdout.contains("AWS account 123456789012"))
        #expect(deploy.stdout.contains("uploaded"))
        #expect(deploy.stdout.contains("odins-ravne-\(stage): created (CREATE_COMPLETE)"))
        let deployed = try client.stackParameterValues(name: "odins-ravne-\(stage)")
        #expect(deployed["FallbackTimeoutSeconds"] == "600")
        #expect(deployed["ProfileJson"]?.contains("\"fallback_timeout\":600") == true)

        // Without --yes and without a terminal nothing is executed.
        let unconfirmed = try Peers.run(odin, ["destroy"] + common, environment: environment)
        #expect(unconfirmed.status == 1)
        #expect(unconfirmed.stderr.contains("--yes"))

        let destroy = try Peers.run(odin, ["destroy"] + common + ["--yes"], environment: environment)
        #expect(destroy.status == 0, "\(destroy.stdout)\n\(destroy.stderr)")
        #expect(destroy.stdout.contains("Stage \(stage) destroyed."))
        for stack in ["odins-ravne-\(stage)", "odins-ravne-\(stage)-artefacts"] {
            #expect(((try? client.describeStack(name: stack))?.status ?? "DELETE_COMPLETE") == "DELETE_COMPLETE")
        }
    }
}

/// A package root with the real templates, stub function zips and a manifest like `make package` writes, plus
/// what a real account already has (a VPC and subnet; moto also needs an explicit Batch service role), made with
/// a plain CreateStack so its outputs resolve in moto.
struct RealStackFixture {
    let client: AWSClient
    let root: String
    let manifest: String
    let overrides: [String: String]
    let prereqName: String
    static let functions = ["ingest": "Ingest", "job-events": "JobEvents", "budget-guard": "BudgetGuard",
                            "sweeper": "Sweeper"]

    init(client: AWSClient, stage: String) throws {
        self.client = client
        let prereq = """
            Resources:
              Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.42.0.0/16}}
              Subnet: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.42.1.0/24}}
              Role:
                Type: AWS::IAM::Role
                Properties:
                  AssumeRolePolicyDocument:
                    Version: "2012-10-17"
                    Statement: [{Effect: Allow, Principal: {Service: batch.amazonaws.com}, Action: "sts:AssumeRole"}]
            Outputs:
              Vpc: {Value: !Ref Vpc}
              Subnet: {Value: !Ref Subnet}
              Role: {Value: !GetAtt Role.Arn}
            """
        prereqName = "prereq-" + stage
        _ = try client.createStack(name: prereqName, template: .body(prereq), capabilities: ["CAPABILITY_IAM"])
        let network = try client.describeStack(name: prereqName).outputs
        overrides = [
            "VpcId": network["Vpc"] ?? "", "SubnetIds": network["Subnet"] ?? "",
            "BatchServiceRoleArn": network["Role"] ?? "",
            "WorkerImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/odins-ravne-worker:test",
            "BudgetWarnAmount": "50", "BudgetStopAmount": "90",
            // moto splits CommaDelimitedList values only when they are passed, not their defaults
            "WorkerCommand": "munin-worker", "HuginCommand": "hugin",
        ]
        root = try TestEnvironment.makeTemporaryDirectory("deploy")
        manifest = root + "/manifest.json"
        let files = FileManager.default
        for folder in ["infra/parameters", "scripts/infra", "profiles"] {
            try files.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        for file in ["infra/artefacts.yaml", "infra/stack.yaml", "infra/README.md", "scripts/infra/check_template.py",
                     "profiles/default.yaml"]
            + Self.functions.keys.map({ "functions/\($0)/function.json" }) {
            let source = Peers.packageRoot + "/" + file
            try files.createDirectory(atPath: (root + "/" + file as NSString).deletingLastPathComponent,
                                      withIntermediateDirectories: true)
            if files.fileExists(atPath: source) { try files.copyItem(atPath: source, toPath: root + "/" + file) }
        }
        for name in Self.functions.keys { _ = try writeFunction(name, version: 1) }
    }

    /// Writes functions/<name>/bootstrap.zip (content depends on `version`) and rewrites the manifest; returns the key.
    @discardableResult
    func writeFunction(_ name: String, version: Int) throws -> String {
        let zip = try ZipWriter.archive([ZipEntry(path: "bootstrap", bytes: Array("#!/bin/sh\necho \(name) \(version)\n".utf8),
                                                  mode: 0o755)])
        try FileManager.default.createDirectory(atPath: root + "/functions/\(name)", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/functions/\(name)/bootstrap.zip", contents: Data(zip))
        try writeManifest()
        return "functions/\(name)/\(Hex.encode(try SHA256.hash(zip))).zip"
    }

    private func writeManifest() throws {
        var entries: [String] = []
        for (name, prefix) in Self.functions.sorted(by: { $0.key < $1.key }) {
            let path = root + "/functions/\(name)/bootstrap.zip"
            guard let zip = FileManager.default.contents(atPath: path) else { continue }
            let sha = Hex.encode(try SHA256.hash(Array(zip)))
            let key = "functions/\(name)/\(sha).zip"
            entries.append("""
                "\(name)": {"zip": "functions/\(name)/bootstrap.zip", "bytes": \(zip.count), "sha256": "\(sha)", "key": "\(key)",
                  "parameters": {"\(prefix)CodeKey": "\(key)", "\(prefix)MemorySize": "256", "\(prefix)Timeout": "120"}}
                """)
        }
        FileManager.default.createFile(atPath: manifest, contents: Data(
            "{\"architecture\": \"x86_64\", \"functions\": {\(entries.joined(separator: ","))}}".utf8))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
        try? client.deleteStack(name: prereqName)
    }
}

@Suite struct DeployCLITests {
    @Test(.requires(.odin)) func everyCommandHasHelp() throws {
        let odin = TestEnvironment.binary("odin")
        for (command, words) in [(["deploy"], ["--complete", "--cf", "--lambda", "--stage", "--profile", "--region",
                                               "--yes", "--dry-run", "--parameter"]),
                                 (["destroy"], ["--stage", "--yes"])] {
            let result = try Peers.run(odin, command + ["--help"])
            #expect(result.status == 0)
            for word in words { #expect(result.stdout.contains(word), "\(command) --help lacks \(word)") }
        }
        // No stage: a usage error naming the fix.
        let missing = try Peers.run(odin, ["destroy"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("--stage"))
    }

    /// Without a container engine `make image` builds nothing and explains the stack's image parameter.
    @Test func imageWithoutContainerEngineExplainsTheParameter() throws {
        let script = Peers.packageRoot + "/scripts/image.sh"
        var environment = ProcessInfo.processInfo.environment
        environment["CONTAINER"] = "odin-no-such-engine"
        let result = try Peers.run(script, [], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("no container engine available"))
        #expect(result.stdout.contains("WorkerImageUri"))
    }
}
