import AWS
import Foundation
import HTTP
import Odin
import OdinAWS
import OdinKit
import Testing
import TestSupport

/// The AWS binding's ports against moto directly: the same semantics the local binding has.
@Suite struct BindingTests {
    @Test(.requires(.venv, .contractChecker)) func dynamoStateStoreConditionsCountersDeletesAndQueries() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let state = stack.state
        let key = StateKey("run#r1", "meta")
        #expect(try state.get(key) == nil)
        #expect(try state.create(StateItem(key: key, attributes: ["version": .int(1), "name": .string("a")],
                                           expiresAt: 1_900_000_000)))
        #expect(try !state.create(StateItem(key: key)))
        let item = try #require(try state.get(key))
        #expect(item["name"] == .string("a") && item.expiresAt == 1_900_000_000)
        // The TTL attribute is the stack's `expiresAt`.
        let raw = try stack.client.getItem(table: stack.table, key: ["pk": .string("run#r1"), "sk": .string("meta")])
        #expect(raw?["expiresAt"] == .number("1900000000"))
        #expect(throws: StateStoreError.self) {
            try state.put(StateItem(key: key), condition: .equals("version", .int(2)))
        }
        let updated = try state.update(key, set: ["list": .list([.int(1), .string("x"), .bool(true)]),
                                              "map": .map(["d": .double(1.5), "n": .null])],
                                       remove: ["name"], expiresAt: nil, condition: .equals("version", .int(1)))
        #expect(updated["name"] == nil && updated["list"] == .list([.int(1), .string("x"), .bool(true)]))
        #expect(updated["map"] == .map(["d": .double(1.5), "n": .null]))
        #expect(throws: StateStoreError.self) {
            try state.update(key, set: ["x": .int(1)], remove: [], expiresAt: nil, condition: .attributeAbsent("list"))
        }
        try state.update(StateKey("p", "new"), set: ["a": .int(1)], remove: [], expiresAt: nil,
                         condition: .absentOrEquals("a", .int(0)))
        let counters = try state.add(StateKey("run#r1", "counters"), counters: ["ok": 2, "failed": 1],
                                     set: ["at": .string("now")])
        #expect(counters["ok"] == 2 && counters["failed"] == 1)
        #expect(try state.add(StateKey("run#r1", "counters"), counters: ["ok": 3], set: [:])["ok"] == 5)
        for index in 0..<30 { _ = try state.create(StateItem(key: StateKey("run#r1", "done#\(index)"))) }
        #expect(try state.query(partition: "run#r1", sortPrefix: "done#").count == 30)
        #expect(try state.query(partition: "run#r1", sortPrefix: "").count == 32)
        let old = try state.delete(key, condition: .itemExists)
        #expect(old?["version"] == .int(1))
        #expect(try state.delete(key, condition: .always) == nil)
        #expect(throws: StateStoreError.self) { try state.delete(key, condition: .itemExists) }
        // Compound conditions (`(c1) AND (c2)`), as the local bindings evaluate them; the contract checker validates
        // every expression against botocore's model.
        let problems = StateStoreConformance.compoundConditions(state)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test(.requires(.venv, .contractChecker)) func s3ObjectStoreRangesCreateIfAbsentStreamingAndListing() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let store = S3ObjectStore(client: stack.client, bucket: stack.bucket, prefix: "tenant/a")
        #expect(store.rootURI == "s3://\(stack.bucket)/tenant/a")
        let bytes = Array("0123456789abcdef".utf8)
        try store.put("runs/r1/x y+z.bin", bytes: bytes, ifAbsent: true)
        do {
            try store.put("runs/r1/x y+z.bin", bytes: [1], ifAbsent: true)
            Issue.record("second create-if-absent succeeded")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .preconditionFailed)
        }
        #expect(try store.get("runs/r1/x y+z.bin") == bytes)
        #expect(try store.get("runs/r1/x y+z.bin", range: 2..<6) == Array("2345".utf8))
        #expect(try store.get("runs/r1/x y+z.bin", range: 5..<5) == [])
        #expect(try store.head("runs/r1/x y+z.bin")?.size == 16)
        #expect(try store.head("runs/r1/missing") == nil)
        #expect(throws: ObjectStoreError.self) { try store.get("../escape") }
        let folder = try TestEnvironment.makeTemporaryDirectory("s3store")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = folder + "/big.bin"
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        FileManager.default.createFile(atPath: source, contents: Data(big))
        #expect(try store.upload(file: source, to: "runs/r1/big.bin").size == 3_000_000)
        try store.download("runs/r1/big.bin", to: folder + "/back.bin")
        #expect(FileManager.default.contents(atPath: folder + "/back.bin") == Data(big))
        #expect(try store.list(prefix: "runs/r1/").map(\.key) == ["runs/r1/big.bin", "runs/r1/x y+z.bin"])
        // The prefix really is part of the key in the bucket.
        #expect(try stack.client.headObject(bucket: stack.bucket, key: "tenant/a/runs/r1/big.bin").contentLength == 3_000_000)
        try store.delete("runs/r1/big.bin")
        #expect(try store.head("runs/r1/big.bin") == nil)
        do {
            _ = try store.get("runs/r1/big.bin")
            Issue.record("deleted object still readable")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .notFound)
        }
    }

    @Test func objectStoresOpenEveryURIForm() throws {
        let folder = try TestEnvironment.makeTemporaryDirectory("stores")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = ["AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]
        #expect(try ObjectStores.open(uri: folder + "/plain", environment: [:]) is DirectoryObjectStore)
        #expect(try ObjectStores.open(uri: "file://" + folder + "/uri", environment: [:]) is DirectoryObjectStore)
        let s3 = try ObjectStores.open(uri: "s3://odin-data/some/prefix/", environment: environment)
        #expect(s3.rootURI == "s3://odin-data/some/prefix")
        #expect(throws: OdinAWSError.self) { try ObjectStores.open(uri: "s3://", environment: environment) }
        #expect(throws: OdinAWSError.self) { try ObjectStores.open(uri: "gs://bucket", environment: environment) }
        #expect(throws: OdinAWSError.self) { try ObjectStores.open(uri: "file://relative", environment: [:]) }
        #expect(throws: OdinAWSError.self) { try ObjectStores.open(uri: "s3://bucket", environment: [:]) }
    }

    @Test func settingsNameEachMissingOrInvalidVariable() throws {
        let good = [
            "ODIN_STAGE": "prod", "ODIN_BUCKET": "odins-ravne-prod-data-1-eu-north-1", "ODIN_TABLE": "odin-state",
            "ODIN_SPOT_QUEUE": "arn:aws:batch:eu-north-1:123456789012:job-queue/odins-ravne-prod-spot",
            "ODIN_OD_QUEUE": "arn:aws:batch:eu-north-1:123456789012:job-queue/odins-ravne-prod-on-demand",
            "ODIN_SPOT_CE": "arn:aws:batch:eu-north-1:123456789012:compute-environment/spot-gpu",
            "ODIN_OD_CE": "arn:aws:batch:eu-north-1:123456789012:compute-environment/od-gpu",
            "ODIN_WORKER_JOB_DEFINITION": "odins-ravne-prod-worker", "ODIN_HUGIN_JOB_DEFINITION": "odins-ravne-prod-hugin",
            "ODIN_SHARE_IDENTIFIER": "odin", "ODIN_TOPIC_ARN": "arn:aws:sns:eu-north-1:123456789012:notify",
            "ODIN_BUDGET_NAME": "odins-ravne-prod",
        ]
        let settings = try AWSBinding.settings(environment: good)
        #expect(settings.profile.compute.spotQueue == "odins-ravne-prod-spot")
        #expect(settings.profile.compute.onDemandComputeEnvironment == "od-gpu")
        #expect(settings.profile.compute.condenseJobDefinition == "odins-ravne-prod-hugin")
        #expect(settings.profile.budget.actOnBudgets.contains("odins-ravne-prod"))
        #expect(settings.schedulingPriority == 200)
        func failure(_ change: [String: String]) -> String {
            var environment = good
            for (key, value) in change { environment[key] = value }
            do {
                _ = try AWSBinding.settings(environment: environment)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(failure(["ODIN_TABLE": ""]).hasPrefix("ODIN_TABLE:"))
        #expect(failure(["ODIN_SPOT_QUEUE": "arn:aws:batch:eu-north-1:1:compute-environment/x"]).hasPrefix("ODIN_SPOT_QUEUE:"))
        #expect(failure(["ODIN_TOPIC_ARN": "notify"]).hasPrefix("ODIN_TOPIC_ARN:"))
        #expect(failure(["ODIN_BUCKET": "Bad_Bucket"]).hasPrefix("ODIN_BUCKET:"))
        #expect(failure(["ODIN_STAGE": "Prod!"]).hasPrefix("ODIN_STAGE:"))
        // ODIN_BUDGET_STOP_AMOUNT (the stack's BudgetStopAmount) reaches the kill-switch's judgement.
        #expect(settings.profile.budget.stopAmount == nil)
        var stop = good
        stop["ODIN_BUDGET_STOP_AMOUNT"] = "90"
        #expect(try AWSBinding.settings(environment: stop).profile.budget.stopAmount == 90)
        #expect(failure(["ODIN_BUDGET_STOP_AMOUNT": "ninety"]).hasPrefix("ODIN_BUDGET_STOP_AMOUNT:"))
        #expect(failure(["ODIN_BUDGET_STOP_AMOUNT": "-5"]).hasPrefix("ODIN_BUDGET_STOP_AMOUNT:"))
        #expect(failure(["ODIN_PRIORITY": "urgent"]).hasPrefix("ODIN_PRIORITY:"))
        #expect(failure(["ODIN_PROFILE_JSON": #"{"budget":{"amount":-1}}"#]).contains("budget.amount"))
        #expect(try AWSBinding.settings(environment: good.merging(["ODIN_PRIORITY": "high"]) { $1 }).schedulingPriority == 300)
        // Values lose surrounding spaces.
        let padded = try AWSBinding.settings(environment: good.merging(
            ["ODIN_STAGE": " prod ", "ODIN_TABLE": "  odin-state", "ODIN_SHARE_IDENTIFIER": "odin  "]) { $1 })
        #expect(padded.stage == "prod" && padded.table == "odin-state" && padded.shareIdentifier == "odin")
        #expect(failure(["ODIN_STAGE": "   "]).hasPrefix("ODIN_STAGE:"))
        #expect(AWSBinding.trimmingSpaces("  a b  ") == "a b" && AWSBinding.trimmingSpaces("") == "" && AWSBinding.trimmingSpaces("ab") == "ab")
    }
}

/// The AWS client's opt-in call log: one line per call, status and duration, no secrets.
@Suite(.requires(.venv, .contractChecker)) struct CallLogTests {
    final class Lines: @unchecked Sendable {
        var lines: [String] = []
        let lock = NSLock()
        func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    }

    @Test func oneLinePerCallWithStatusAndNoSecrets() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let lines = Lines()
        let client = AWSClient(configuration: AWSClient.Configuration(
            region: "us-east-1", credentials: StaticCredentialsProvider(moto.credentials),
            endpoints: AWSEndpointResolver(globalOverride: moto.endpoint), random: { 0 }, sleep: { _ in },
            callLog: { lines.add($0) }))
        try client.putObject(bucket: stack.bucket, key: "a.txt", body: .bytes([1, 2, 3]))
        _ = try? client.getObject(bucket: stack.bucket, key: "missing.txt")
        #expect(lines.lines.count == 2, "\(lines.lines)")
        #expect(lines.lines.first?.hasPrefix("aws: s3 PutObject 200 ") == true)
        #expect(lines.lines.last?.hasPrefix("aws: s3 GetObject 404 NoSuchKey ") == true)
        #expect(lines.lines.allSatisfy { $0.hasSuffix(" ms") && !$0.contains(moto.credentials.secretAccessKey) })
        let configured = try AWSClient.Configuration.fromEnvironment(["AWS_REGION": "us-east-1", "ODIN_LOG_AWS_CALLS": "1"])
        #expect(configured.callLog != nil)
        #expect(try AWSClient.Configuration.fromEnvironment(["AWS_REGION": "us-east-1"]).callLog == nil)
    }
}
