import Foundation
import Odin
import OdinAWS
import RuntimeEmulator
import Testing
import TestSupport

/// Issue 14 (Lambda-side limits) through the real bootstrap: the ingest binary runs under the Runtime API emulator,
/// reads the invocation's deadline from Lambda-Runtime-Deadline-Ms, stops starting new work when less than its reserve
/// (10 s) is left, and fails the invocation so it is redelivered; the redelivery records the rest, once.
@Suite(.serialized, .requires(.venv, .contractChecker)) struct DeadlineTests {
    @Test func ingestNearItsDeadlineLeavesTheRestToTheRedelivery() throws {
        guard let moto = FunctionMoto.require() else { return }
        // No seal during ingest (the window settles for an hour): the test is about recording.
        let stack = try TestStack(moto, profileJSON: #"{"pipeline":{"ingest":{"settle_seconds":3600}}}"#)
        // Each object is one TransactWriteItems through the recording proxy, the contract checker and moto, so 250
        // objects are far more than the one second an 11 s timeout leaves before the reserve.
        let count = 250
        let keys = (1...count).map { ("raw/camdl/IMG_\($0).JPG", 2000 + $0, String(format: "%032x", $0)) }
        let event = Array(s3Event(bucket: stack.bucket, keys: keys).utf8)
        let short = try stack.start("ingest", timeoutSeconds: 11)
        let first = short.invoke(event)
        guard case .error(_, let body) = first.outcome else {
            Issue.record("the first delivery should stop near its deadline and fail for redelivery: \(describe(first.outcome))")
            return
        }
        let message = String(decoding: body, as: UTF8.self)
        #expect(message.contains("deadline is near"), "\(message)")
        // "… after <recorded> of 250 objects …"
        let recorded = message.components(separatedBy: "deadline is near after ").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) }
        let done = try #require(recorded, "\(message)")
        #expect(done > 0 && done < count, "the first delivery recorded \(done) of \(count)")
        print("deadline: the first delivery (11 s timeout, 10 s reserve) recorded \(done) of \(count) objects, then failed for redelivery")

        // The redelivery (a full timeout this time) records the rest; what the first one recorded is a duplicate.
        let full = try stack.start("ingest")
        let result = invokeJSON(full, String(decoding: event, as: UTF8.self))
        #expect(result["duplicates"] as? Int == done, "\(result)")
        #expect(result["accepted"] as? Int == count - done, "\(result)")
        // Every object is pending exactly once, in an open window the sweeper will seal.
        let pending = try stack.state.query(partition: Schema.pendingPartition(camera: "camdl"), sortPrefix: "")
        #expect(pending.count == count)
        #expect(Set(pending.compactMap { $0["key"]?.stringValue }) == Set(keys.map(\.0)))
        #expect(try stack.state.get(Schema.window(camera: "camdl")) != nil)
        #expect(stack.proxy.findings.isEmpty, "\(stack.proxy.findings)")
    }
}
