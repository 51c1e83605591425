import AWS

/// Every failure of a deploy or destroy, with the step it happened in, what went wrong and what to do about it.
public struct DeployError: Error, CustomStringConvertible, Sendable {
    /// The step: `lint`, `parameters`, `upload`, `change-set`, `execute`, `stack`, `destroy`, …
    public var step: String
    public var message: String
    /// What the user should do next (empty when there is nothing useful to say).
    public var fix: String
    /// The stack's status after the failure, when one was read (the "known state" the deploy leaves behind).
    public var stackStatus: String?
    /// The resource that failed and the service's reason, when the service named one.
    public var failedResource: FailedResource?

    public init(step: String, _ message: String, fix: String = "", stackStatus: String? = nil,
                failedResource: FailedResource? = nil) {
        self.step = step
        self.message = message
        self.fix = fix
        self.stackStatus = stackStatus
        self.failedResource = failedResource
    }

    init(step: String, _ error: AWSError, fix: String = "") {
        self.init(step: step, error.description, fix: fix)
    }

    public var description: String {
        var text = "deploy \(step): \(message)"
        if let failedResource { text += "\n  failed resource: \(failedResource)" }
        if let stackStatus { text += "\n  stack status: \(stackStatus)" }
        if !fix.isEmpty { text += "\n  fix: \(fix)" }
        return text
    }
}

/// The resource a stack operation failed on, and why (from DescribeStackEvents).
public struct FailedResource: Sendable, Equatable, CustomStringConvertible {
    public var logicalID: String
    public var resourceType: String
    public var status: String
    public var reason: String

    public init(logicalID: String, resourceType: String, status: String, reason: String) {
        self.logicalID = logicalID
        self.resourceType = resourceType
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(logicalID) (\(resourceType)) \(status): \(reason)" }
}
