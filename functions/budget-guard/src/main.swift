// The budget-guard function: SNS budget/alarm notification → kill-switch and teardown receipt.
// Services (S3, DynamoDB, Batch, SNS) are built once at cold start from the ODIN_* variables (infra/stack.yaml).
import LambdaRuntime
import Odin
import OdinAWS

Lambda.run(name: "budget-guard") { environment, logger in
    let services = try AWSBinding.functionServices(environment: environment, logger: logger)
    return ClosureByteHandler { event, _ in try BudgetGuardHandler.handle(event, services: services) }
}
