// The sweeper function: scheduled event → reconcile runs, re-apply teardown, pace maxvCpus.
// Services (S3, DynamoDB, Batch, SNS) are built once at cold start from the ODIN_* variables (infra/stack.yaml).
import LambdaRuntime
import Odin
import OdinAWS

Lambda.run(name: "sweeper") { environment, logger in
    let services = try AWSBinding.functionServices(environment: environment, logger: logger)
    return ClosureByteHandler { event, context in
        try SweeperHandler.handle(event, services: services.until(deadlineMs: context.deadlineMs))
    }
}
