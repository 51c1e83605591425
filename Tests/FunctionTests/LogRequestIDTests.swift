import Foundation
import RuntimeEmulator
import Testing
import TestSupport

/// The ingest bootstrap hands the runtime's logger to its services: Odin's own lines (run sealed, run submitted)
/// carry the request id of the invocation that wrote them.
@Suite(.serialized, .requires(.venv, .contractChecker)) struct LogRequestIDTests {
    @Test func odinLinesCarryTheInvocationsRequestID() throws {
        let moto = try #require(FunctionMoto.require(), "moto is needed: run under scripts/with-moto.sh")
        let stack = try TestStack(moto, profileJSON: smallChunksProfile)
        let ids = ["ingest-a-\(UInt32.random(in: 0...UInt32.max))", "ingest-b-\(UInt32.random(in: 0...UInt32.max))"]
        do {
            let session = try stack.start("ingest", environment: ["LOG_LEVEL": "debug"])
            for (index, id) in ids.enumerated() {
                var options = RuntimeAPIEmulator.InvocationOptions()
                options.requestID = id
                let keys = (1...2).map {
                    (key: "raw/cam0\(index)/IMG\($0).JPG", size: 1000 + $0, eTag: String(format: "%032x", index * 10 + $0))
                }
                let result = session.invoke(Array(s3Event(bucket: stack.bucket, keys: keys).utf8), options: options)
                guard case .response = result.outcome else {
                    Issue.record("invocation \(id) failed: \(describe(result.outcome))")
                    return
                }
            }
            session.process.terminate()
        }
        let text = try String(contentsOfFile: stack.logDirectory + "/ingest.log", encoding: .utf8)
        let records = text.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{\"timestamp\"") else { return nil }  // log lines, not EMF metric lines
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let sealed = records.filter { $0["message"] as? String == "run sealed" }
        #expect(sealed.map { $0["requestId"] as? String } == ids, "\(records)")
        #expect(records.contains { $0["message"] as? String == "run submitted" })
        for record in records {
            #expect(ids.contains(record["requestId"] as? String ?? "(none)"), "a line without the request id: \(record)")
        }
    }
}
