// A Lambda function for the runtime tests: its behaviour is chosen by the event, so one real bootstrap process can
// exercise every path of the runtime loop. Never deployed.
import FoundationEssentials
import LambdaJSON
import LambdaRuntime
import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

struct Probe: Decodable {
    /// echo | throw | big | trace | context | sleep | exit | log
    var action: String
    var size: Int?
    var milliseconds: Int?
}

struct ProbeFailure: Error, CustomStringConvertible {
    var description: String { "the probe was asked to fail" }
}

struct ProbeOutput: Encodable {
    var action: String
    var trace: String?
    var requestID: String?
    var functionARN: String?
    var clientContext: String?
    var cognitoIdentity: String?
    var remainingPositive: Bool?
}

Lambda.run(name: "probe") { environment, logger in
    if environment["PROBE_INIT_FAIL"] == "1" {
        throw ProbeFailure()
    }
    let componentLogger = logger.with("component", "probe")  // a copy made at cold start, as the services make
    let typed = CodableHandler<Probe, ProbeOutput> { probe, context in
        switch probe.action {
        case "echo":
            return ProbeOutput(action: "echo")
        case "throw":
            throw ProbeFailure()
        case "trace":
            return ProbeOutput(action: "trace", trace: getenv("_X_AMZN_TRACE_ID").map { String(cString: $0) })
        case "context":
            return ProbeOutput(action: "context", requestID: context.requestID,
                               functionARN: context.invokedFunctionARN, clientContext: context.clientContext,
                               cognitoIdentity: context.cognitoIdentity,
                               remainingPositive: context.remainingMilliseconds > 0)
        case "sleep":
            usleep(useconds_t((probe.milliseconds ?? 10) * 1000))
            return ProbeOutput(action: "sleep")
        case "exit":
            exit(3)
        case "log":
            componentLogger.info("probe handled")
            return ProbeOutput(action: "log")
        default:
            throw PayloadDecodingError("event field 'action': unknown action '\(probe.action)'")
        }
    }
    return ClosureByteHandler { event, context in
        // "big" bypasses JSON encoding so the size is exact.
        if event.starts(with: Array(#"{"action":"big""#.utf8)) {
            let size = Int(String(decoding: event, as: UTF8.self).split(separator: ":").last?
                .filter(\.isNumber) ?? "") ?? 0
            return [UInt8](repeating: 0x61, count: size)
        }
        return try typed.handle(event, context: context)
    }
}
