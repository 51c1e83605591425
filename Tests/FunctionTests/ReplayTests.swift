import AWS
import Foundation
import Testing
import TestSupport

/// `odin replay --seed-local` (what `make replay EVENT=events/job-done.json` runs inside scripts/with-moto.sh): seeds
/// the stack's resources and a run matching the event, runs the real job-events bootstrap, prints the response and
/// one line per AWS call.
@Suite(.requires(.venv, .contractChecker), .requires(.odin)) struct ReplayTests {
    @Test func jobDoneReplaysAgainstSeededMotoWithACallLog() throws {
        guard let moto = FunctionMoto.require() else { return }
        let odin = TestEnvironment.binary("odin")
        let stage = "r" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let environment = [
            // Through the contract checker (model validation; the replay runs on the setup user, not a template role).
            "AWS_ENDPOINT_URL": ContractProxy.endpoint(for: moto.endpoint), "AWS_REGION": "us-east-1", "HOME": "/nonexistent",
            "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey,
            "ODIN_STAGE": stage, "PATH": "/usr/bin:/bin",
        ]
        let result = try Peers.run(odin, ["replay", TestEnvironment.packageRoot + "/events/job-done.json",
                                          "--bin-dir", TestEnvironment.productsDirectory, "--seed-local"],
                                   environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""outcome":"chunk_succeeded""#), "\(result.stdout)")
        #expect(result.stdout.contains(#""runID":"run-20260614-0532-cam01""#))
        let calls = result.stderr.split(separator: "\n").filter { $0.hasPrefix("aws: ") }
        // The chunk's marker, counters, ledger charge and event item commit in one transaction.
        #expect(calls.contains { $0.hasPrefix("aws: dynamodb TransactWriteItems 200 ") }, "\(result.stderr)")
        #expect(calls.allSatisfy { $0.hasSuffix(" ms") })
        #expect(!result.stderr.contains(moto.credentials.secretAccessKey))

        // Without a loopback endpoint, seeding refuses (real AWS is only reached through REAL_AWS=1 in make replay).
        var remote = environment
        remote["AWS_ENDPOINT_URL"] = "https://batch.eu-north-1.amazonaws.com"
        let refused = try Peers.run(odin, ["replay", TestEnvironment.packageRoot + "/events/job-done.json",
                                           "--bin-dir", TestEnvironment.productsDirectory, "--seed-local"],
                                    environment: remote)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("AWS_ENDPOINT_URL"), "\(refused.stderr)")
    }
}
