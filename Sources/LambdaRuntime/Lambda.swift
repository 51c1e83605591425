import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// The runtime's entry point: `Lambda.run(name:makeHandler:)` from a function's `main.swift`.
public enum Lambda {
    /// Runs the Runtime API loop forever (exits only on a fatal runtime error, non-zero).
    ///
    /// - Parameters:
    ///   - name: the function's handler name. `_HANDLER` may be unset, empty, `bootstrap` or this name; anything
    ///     else is an init error (reported to `/runtime/init/error`, then exit 1).
    ///   - environment: the environment (nil: this process's, read once here).
    ///   - makeHandler: builds the handler at cold start from the environment and the runtime's logger (pass it on
    ///     to everything that logs: while an invocation is handled, every copy's lines carry its request id); a
    ///     thrown error is an init error.
    public static func run(name: String, environment: [String: String]? = nil,
                           makeHandler: ([String: String], Logger) throws -> any ByteHandler) -> Never {
        let environment = environment ?? ProcessEnvironment.snapshot()
        let logger = Logger(level: Logger.level(from: environment))
            .with("lambda.function", environment["AWS_LAMBDA_FUNCTION_NAME"] ?? name)
        let client: RuntimeAPIClient
        do {
            client = try RuntimeAPIClient(runtimeAPI: environment["AWS_LAMBDA_RUNTIME_API"] ?? "", logger: logger)
        } catch {
            logger.fatal("cannot start: \(error.message)", ["lambda.step": error.step])
            exit(1)
        }
        let handler: any ByteHandler
        do {
            if let requested = environment["_HANDLER"], !requested.isEmpty, requested != "bootstrap",
               requested != name
            {
                throw RuntimeError(.unknownHandler, step: "init",
                                   "_HANDLER is '\(requested)' but this bootstrap serves '\(name)'; set the function's handler to '\(name)' or 'bootstrap'")
            }
            handler = try makeHandler(environment, logger)
        } catch {
            let (type, message) = describe(error)
            logger.fatal("init failed: \(message)", ["error.type": type])
            do {
                try client.reportInitError(type: type, message: message)
            } catch let runtimeError {
                logger.error("could not report the init error: \(runtimeError.message)")
            }
            exit(1)
        }
        let loop = RuntimeLoop(client: client, handler: handler, logger: logger)
        do {
            try loop.run()
        } catch {
            logger.fatal("stopping: \(error.description)", ["lambda.step": error.step])
        }
        exit(1)
    }

    /// (errorType, errorMessage) for a thrown error: reportable errors name themselves, others use the Swift type.
    static func describe(_ error: any Error) -> (String, String) {
        if let reportable = error as? any LambdaReportableError {
            return (reportable.errorType, reportable.errorMessage)
        }
        return (String(describing: type(of: error)), String(describing: error))
    }
}

/// The sequential next → handle → respond loop. One invocation at a time; a handler error is reported and the loop
/// carries on; only runtime errors (unreachable or broken Runtime API) end it.
package struct RuntimeLoop {
    let client: RuntimeAPIClient
    let handler: any ByteHandler
    let logger: Logger
    var maxInvocations: Int? = nil

    package init(client: RuntimeAPIClient, handler: any ByteHandler, logger: Logger,
                 maxInvocations: Int? = nil) {
        self.client = client
        self.handler = handler
        self.logger = logger
        self.maxInvocations = maxInvocations
    }

    package func run() throws(RuntimeError) {
        var served = 0
        while maxInvocations.map({ served < $0 }) ?? true {
            let invocation = try client.next()
            served += 1
            try serve(invocation)
        }
    }

    /// Handles one invocation with its request id in every line logged meanwhile (through any copy of `logger`).
    private func serve(_ invocation: Invocation) throws(RuntimeError) {
        try logger.handling(requestID: invocation.requestID) { () throws(RuntimeError) in try handle(invocation) }
    }

    private func handle(_ invocation: Invocation) throws(RuntimeError) {
        if let trace = invocation.traceID {
            setenv("_X_AMZN_TRACE_ID", trace, 1)
        } else {
            unsetenv("_X_AMZN_TRACE_ID")
        }
        if let problem = invocation.headerProblem {
            logger.error("malformed invocation headers: \(problem)")
            try client.reportError(requestID: invocation.requestID, type: "Runtime.MalformedInvocationHeaders",
                                   message: problem)
            return
        }
        let context = LambdaContext(
            requestID: invocation.requestID, deadlineMs: invocation.deadlineMs ?? 0,
            invokedFunctionARN: invocation.invokedFunctionARN, traceID: invocation.traceID,
            clientContext: invocation.clientContext, cognitoIdentity: invocation.cognitoIdentity,
            tenantID: invocation.tenantID, logger: logger)
        if logger.isEnabled(.trace) {
            logger.trace("event", ["payload": String(decoding: invocation.payload.prefix(1024), as: UTF8.self)])
        }
        let output: [UInt8]
        do {
            output = try handler.handle(invocation.payload, context: context)
        } catch {
            let (type, message) = Lambda.describe(error)
            logger.error("handler failed: \(message)", ["error.type": type])
            try client.reportError(requestID: invocation.requestID, type: type, message: message)
            return
        }
        if output.count > 6_291_556 {
            let tooLarge = ResponseTooLargeError(size: output.count)
            logger.error(tooLarge.errorMessage)
            try client.reportError(requestID: invocation.requestID, type: tooLarge.errorType,
                                   message: tooLarge.errorMessage)
            return
        }
        try client.respond(requestID: invocation.requestID, body: output)
    }
}
