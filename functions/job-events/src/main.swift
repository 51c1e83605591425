// The job-events function: EventBridge Batch Job State Change → counters, Spot fallback, condensation once, teardown.
// Services (S3, DynamoDB, Batch, SNS) are built once at cold start from the ODIN_* variables (infra/stack.yaml).
import LambdaRuntime
import Odin
import OdinAWS

Lambda.run(name: "job-events") { environment, logger in
    let services = try AWSBinding.functionServices(environment: environment, logger: logger)
    return ClosureByteHandler { event, context in
        try JobEventsHandler.handle(event, services: services.until(deadlineMs: context.deadlineMs))
    }
}
