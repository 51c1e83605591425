import Foundation
import RuntimeEmulator
import TestSupport
import Testing

/// Lambda's invoke limits as the service enforces them, through the emulator and a real runtime process.
@Suite("Lambda payload limits")
struct PayloadLimitTests {
    @Test("an invoke over 6 MB gets the service's 413 and never reaches the function")
    func requestOverSixMegabytesIsRefused() throws {
        let replay = try RuntimeLoopTests().session()
        let limit = RuntimeAPIEmulator.maxRequestBytes
        // Exactly at the limit: delivered (a JSON string padded to the byte).
        let prefix = #"{"action":"echo","pad":""#, suffix = #""}"#
        let atLimit = Array(prefix.utf8) + Array(repeating: UInt8(ascii: "x"), count: limit - prefix.utf8.count - suffix.utf8.count)
            + Array(suffix.utf8)
        #expect(atLimit.count == limit)
        switch replay.invoke(atLimit).outcome {
        case .response, .responseTooLarge: break  // delivered (whatever the size of the echo)
        case let other: Issue.record("the event at the limit should reach the function: \(other)")
        }
        let over = atLimit + [UInt8(ascii: " ")]
        #expect(replay.invoke(over).outcome == .requestTooLarge(size: limit + 1))
        #expect(RuntimeAPIEmulator.requestTooLargeBody.contains("6291456"))
        // The runtime never saw it: the next invocation is answered normally.
        guard case .response(let body) = replay.invoke(Array(#"{"action":"echo"}"#.utf8)).outcome else {
            Issue.record("the runtime should still answer")
            return
        }
        #expect(String(decoding: body, as: UTF8.self).contains("echo"))
    }
}
