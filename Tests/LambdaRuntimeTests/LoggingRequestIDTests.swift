import Foundation
import RuntimeEmulator
import TestSupport
import Testing

/// The function's logger comes from the runtime: every line written while an invocation is handled carries its
/// request id, including lines from logger copies made at cold start (as the services and the AWS client are).
@Suite("Log lines carry the request id")
struct LoggingRequestIDTests {
    @Test func everyLineLoggedDuringAnInvocationCarriesItsRequestID() throws {
        let log = NSTemporaryDirectory() + "odin-probe-log-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(log) }
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = "probe"
        let ids = (1...3).map { "request-\($0)-\(UInt32.random(in: 0...UInt32.max))" }
        do {
            // LOG_LEVEL=trace: the runtime's own per-invocation lines (the event at trace) are emitted as well.
            let replay = try ReplaySession(bootstrap: RuntimeLoopTests.probe, configuration: configuration,
                                           extraEnvironment: ["LOG_LEVEL": "trace"], outputPath: log) { _ in }
            for (index, id) in ids.enumerated() {
                var options = RuntimeAPIEmulator.InvocationOptions()
                options.requestID = id
                let event = index == 1 ? #"{"action":"throw"}"# : #"{"action":"log"}"#
                _ = replay.invoke(Array(event.utf8), options: options)
            }
            replay.process.terminate()
        }
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let records = lines.compactMap { line -> [String: String]? in
            guard line.hasPrefix("{") else { return nil }  // the emulator's START/END/REPORT lines are text
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        }
        let handled = records.filter { $0["message"] == "probe handled" }
        #expect(handled.map { $0["requestId"] } == [ids[0], ids[2]])
        #expect(handled.allSatisfy { $0["component"] == "probe" && $0["lambda.function"] != nil })
        #expect(records.contains { $0["message"]?.hasPrefix("handler failed") == true && $0["requestId"] == ids[1] })
        #expect(records.filter { $0["message"] == "event" }.count == 3)
        // From the first invocation on (cold start may log before), every line carries one of the invoked ids.
        let firstInvocation = try #require(records.firstIndex { $0["message"] == "event" })
        for record in records[firstInvocation...] {
            let id = try #require(record["requestId"], "a line without a request id: \(record)")
            #expect(ids.contains(id), "\(record)")
        }
    }
}
