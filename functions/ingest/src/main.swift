// The ingest function: S3 ObjectCreated (direct, SQS-wrapped or EventBridge) → de-duplicated runs, manifests, array jobs.
// Services (S3, DynamoDB, Batch, SNS) are built once at cold start from the ODIN_* variables (infra/stack.yaml).
import LambdaRuntime
import Odin
import OdinAWS

Lambda.run(name: "ingest") { environment, logger in
    let services = try AWSBinding.functionServices(environment: environment, logger: logger)
    return ClosureByteHandler { event, context in
        try IngestHandler.handle(event, services: services.until(deadlineMs: context.deadlineMs))
    }
}
