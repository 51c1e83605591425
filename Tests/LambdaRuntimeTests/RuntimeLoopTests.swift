import Foundation
import RuntimeEmulator
import TestSupport
import Testing

/// The runtime as a separate process (the RuntimeProbe bootstrap) against the emulator over real HTTP.
@Suite("Runtime loop against the emulator")
struct RuntimeLoopTests {
    static let probe = TestEnvironment.binary("RuntimeProbe")

    func session(_ extra: [String: String] = [:], timeout: Double = 10) throws -> ReplaySession {
        var configuration = RuntimeAPIEmulator.Configuration()
        configuration.functionName = "probe"
        configuration.timeoutSeconds = timeout
        return try ReplaySession(bootstrap: Self.probe, configuration: configuration, extraEnvironment: extra,
                                 outputPath: "/dev/null") { _ in }
    }

    func json(_ outcome: RuntimeAPIEmulator.Outcome) -> [String: Any]? {
        switch outcome {
        case .response(let body), .error(_, let body):
            return try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        default:
            return nil
        }
    }

    @Test("many invocations with handler errors in between: the loop carries on")
    func manyInvocations() throws {
        let replay = try session()
        for index in 0..<300 {
            let fails = index % 7 == 3
            let event = fails ? #"{"action":"throw"}"# : #"{"action":"echo"}"#
            let outcome = replay.invoke(Array(event.utf8)).outcome
            if fails {
                guard case .error(let type, let body) = outcome else {
                    Issue.record("invocation \(index): expected an error, got \(outcome)")
                    return
                }
                #expect(type == "Function.ProbeFailure")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
                #expect(object["errorType"] as? String == "ProbeFailure")
                #expect(object["errorMessage"] as? String == "the probe was asked to fail")
                #expect((object["stackTrace"] as? [Any])?.isEmpty == true)
            } else {
                #expect(json(outcome)?["action"] as? String == "echo", "invocation \(index)")
            }
        }
        #expect(replay.process.poll() == nil, "the runtime must still be running")
    }

    @Test("error type header matches the service's pattern")
    func errorTypeHeader() throws {
        let replay = try session()
        guard case .error(let type, _) = replay.invoke(Array(#"{"action":"throw"}"#.utf8)).outcome else {
            Issue.record("expected an error")
            return
        }
        let header = try #require(type)
        #expect(header.wholeMatch(of: /(Runtime|Function)\.[A-Z][a-zA-Z]+/) != nil, "\(header)")
    }

    @Test("malformed event JSON is reported as an error naming the problem, and the loop continues")
    func malformedEvent() throws {
        let replay = try session()
        let bad = replay.invoke(Array(#"{"action": 42}"#.utf8)).outcome
        guard case .error(let type, let body) = bad else {
            Issue.record("expected an error, got \(bad)")
            return
        }
        #expect(type == "Function.PayloadDecodingError")
        let message = String(decoding: body, as: UTF8.self)
        #expect(message.contains("'action'"), "\(message)")
        let truncated = replay.invoke(Array(#"{"action": "ec"#.utf8)).outcome
        guard case .error(_, let body2) = truncated else {
            Issue.record("expected an error for truncated JSON, got \(truncated)")
            return
        }
        #expect(String(decoding: body2, as: UTF8.self).contains("not valid JSON"))
        #expect(json(replay.invoke(Array(#"{"action":"echo"}"#.utf8)).outcome)?["action"] as? String == "echo")
    }

    @Test("a response above 6,291,556 bytes is reported as an error, not dropped")
    func oversizedResponse() throws {
        let replay = try session()
        let outcome = replay.invoke(Array(#"{"action":"big","size":6291557}"#.utf8)).outcome
        guard case .error(let type, let body) = outcome else {
            Issue.record("expected an error, got \(outcome)")
            return
        }
        #expect(type == "Function.ResponseSizeTooLarge")
        #expect(String(decoding: body, as: UTF8.self).contains("6291557 bytes"))
        // Exactly at the limit is accepted.
        guard case .response(let body2) = replay.invoke(Array(#"{"action":"big","size":6291556}"#.utf8)).outcome
        else {
            Issue.record("a response of exactly 6,291,556 bytes must be accepted")
            return
        }
        #expect(body2.count == 6_291_556)
    }

    @Test("a failing init posts /runtime/init/error and exits non-zero")
    func initError() throws {
        let replay = try session(["PROBE_INIT_FAIL": "1"])
        let error = try #require(replay.emulator.waitForInitError(seconds: 10))
        #expect(error.type == "Runtime.ProbeFailure")
        #expect(String(decoding: error.body, as: UTF8.self).contains("the probe was asked to fail"))
        #expect(replay.process.wait(seconds: 10) == 1)
    }

    @Test("an unknown _HANDLER is an init error")
    func unknownHandler() throws {
        let replay = try session(["_HANDLER": "not-the-probe"])
        let error = try #require(replay.emulator.waitForInitError(seconds: 10))
        #expect(String(decoding: error.body, as: UTF8.self).contains("not-the-probe"))
        #expect(replay.process.wait(seconds: 10) == 1)
    }

    @Test("_X_AMZN_TRACE_ID follows each invocation's Trace-Id and is unset when absent")
    func traceID() throws {
        let replay = try session()
        var options = RuntimeAPIEmulator.InvocationOptions()
        options.traceID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        #expect(json(replay.invoke(Array(#"{"action":"trace"}"#.utf8), options: options).outcome)?["trace"]
            as? String == options.traceID)
        options.traceID = "Root=1-00000000-000000000000000000000002;Sampled=0"
        #expect(json(replay.invoke(Array(#"{"action":"trace"}"#.utf8), options: options).outcome)?["trace"]
            as? String == options.traceID)
        #expect(json(replay.invoke(Array(#"{"action":"trace"}"#.utf8)).outcome)?["trace"] == nil)
    }

    @Test("context carries request id, ARN, client context, Cognito identity and the remaining time")
    func context() throws {
        let replay = try session()
        var options = RuntimeAPIEmulator.InvocationOptions()
        options.requestID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
        options.clientContext = #"{"client":{"app_title":"field"}}"#
        options.cognitoIdentity = #"{"cognitoIdentityId":"eu-north-1:abc"}"#
        let object = try #require(json(replay.invoke(Array(#"{"action":"context"}"#.utf8), options: options).outcome))
        #expect(object["requestID"] as? String == options.requestID)
        #expect(object["functionARN"] as? String == "arn:aws:lambda:eu-north-1:123456789012:function:probe")
        #expect(object["clientContext"] as? String == options.clientContext)
        #expect(object["cognitoIdentity"] as? String == options.cognitoIdentity)
        #expect(object["remainingPositive"] as? Bool == true)
    }

    @Test("a handler that exits the process: the invocation is reported lost, not hung")
    func processExit() throws {
        let replay = try session()
        #expect(replay.invoke(Array(#"{"action":"exit"}"#.utf8)).outcome == .timedOut)
        #expect(replay.process.wait(seconds: 5) == 3)
    }
}
