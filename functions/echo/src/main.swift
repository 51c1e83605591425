// The echo function: returns its event unchanged. Used by `make replay` checks and the runtime benchmark.
import LambdaRuntime

Lambda.run(name: "echo") { _, _ in
    ClosureByteHandler { event, _ in event }
}
