import OdinBasics

/// CloudFormation (query protocol). Create/Update/ExecuteChangeSet carry a client request token, which makes their
/// retries safe, so they are retried normally.
public enum CloudFormation {
    public struct Stack: Sendable, Equatable {
        public var stackName: String
        public var stackID: String
        public var status: String
        public var statusReason: String?
        public var outputs: [String: String]
        public var creationTime: Instant?
        public var lastUpdatedTime: Instant?
    }

    public struct StackEvent: Sendable, Equatable {
        public var eventID: String
        public var logicalResourceID: String?
        public var physicalResourceID: String?
        public var resourceType: String?
        public var resourceStatus: String?
        public var resourceStatusReason: String?
        public var timestamp: Instant?
    }

    public struct ChangeSet: Sendable, Equatable {
        public var id: String
        public var stackID: String?
        public var status: String?
        public var statusReason: String?
        public var executionStatus: String?
        /// (action, logical ID, resource type) per change.
        public var changes: [Change]
    }

    public struct Change: Sendable, Equatable {
        public var action: String
        public var logicalResourceID: String
        public var resourceType: String
    }

    /// The template, as a body or an S3 URL.
    public enum Template: Sendable, Equatable {
        case body(String)
        case url(String)
    }
}

extension AWSClient {
    private func stackParameters(
        stackName: String, template: CloudFormation.Template?, parameters: [String: String],
        capabilities: [String], tags: [String: String] = [:]
    ) -> QueryParameters {
        var query = QueryParameters()
        query.add("StackName", stackName)
        switch template {
        case .body(let body): query.add("TemplateBody", body)
        case .url(let url): query.add("TemplateURL", url)
        case nil: query.add("UsePreviousTemplate", true)
        }
        query.addStructs("Parameters", parameters.sorted { $0.key < $1.key }) { query, prefix, parameter in
            query.add("\(prefix).ParameterKey", parameter.key)
            query.add("\(prefix).ParameterValue", parameter.value)
        }
        query.addList("Capabilities", capabilities)
        query.addStructs("Tags", tags.sorted { $0.key < $1.key }) { query, prefix, tag in
            query.add("\(prefix).Key", tag.key)
            query.add("\(prefix).Value", tag.value)
        }
        return query
    }

    /// CreateStack; returns the stack ID.
    public func createStack(
        name: String, template: CloudFormation.Template, parameters: [String: String] = [:],
        capabilities: [String] = ["CAPABILITY_NAMED_IAM"], tags: [String: String] = [:],
        clientRequestToken: String = RandomID.uuidString()
    ) throws(AWSError) -> String {
        var query = stackParameters(stackName: name, template: template, parameters: parameters,
                                    capabilities: capabilities, tags: tags)
        query.add("ClientRequestToken", clientRequestToken)
        return try queryCall(.cloudFormation, action: "CreateStack", parameters: query.pairs).string("StackId") ?? ""
    }

    /// UpdateStack (`template` nil = previous template); returns the stack ID. "No updates are to be performed"
    /// comes back as `ValidationError`.
    public func updateStack(
        name: String, template: CloudFormation.Template?, parameters: [String: String] = [:],
        capabilities: [String] = ["CAPABILITY_NAMED_IAM"], clientRequestToken: String = RandomID.uuidString()
    ) throws(AWSError) -> String {
        var query = stackParameters(stackName: name, template: template, parameters: parameters,
                                    capabilities: capabilities)
        query.add("ClientRequestToken", clientRequestToken)
        return try queryCall(.cloudFormation, action: "UpdateStack", parameters: query.pairs).string("StackId") ?? ""
    }

    /// DescribeStacks for one stack; a missing stack is `ValidationError` ("does not exist").
    public func describeStack(name: String) throws(AWSError) -> CloudFormation.Stack {
        let result = try queryCall(.cloudFormation, action: "DescribeStacks", parameters: [("StackName", name)])
        guard let node = result.members("Stacks").first else {
            throw AWSError(kind: .invalidResponse, service: "CloudFormation", operation: "DescribeStacks",
                           status: 200, code: "InvalidResponse", message: "no stack in the response")
        }
        var outputs: [String: String] = [:]
        for output in node.members("Outputs") {
            if let key = output.string("OutputKey") { outputs[key] = output.string("OutputValue") ?? "" }
        }
        return CloudFormation.Stack(
            stackName: node.string("StackName") ?? name, stackID: node.string("StackId") ?? "",
            status: node.string("StackStatus") ?? "", statusReason: node.string("StackStatusReason"),
            outputs: outputs, creationTime: node.string("CreationTime").flatMap(ISO8601.parse),
            lastUpdatedTime: node.string("LastUpdatedTime").flatMap(ISO8601.parse))
    }

    /// DescribeStackEvents, newest first, following `NextToken` (at most `maxPages` pages).
    public func describeStackEvents(name: String, maxPages: Int = 10) throws(AWSError) -> [CloudFormation.StackEvent] {
        var events: [CloudFormation.StackEvent] = []
        var token: String?
        var pages = 0
        repeat {
            var query = QueryParameters()
            query.add("StackName", name)
            query.add("NextToken", token)
            let result = try queryCall(.cloudFormation, action: "DescribeStackEvents", parameters: query.pairs)
            events += result.members("StackEvents").map { node in
                CloudFormation.StackEvent(
                    eventID: node.string("EventId") ?? "", logicalResourceID: node.string("LogicalResourceId"),
                    physicalResourceID: node.string("PhysicalResourceId"), resourceType: node.string("ResourceType"),
                    resourceStatus: node.string("ResourceStatus"),
                    resourceStatusReason: node.string("ResourceStatusReason"),
                    timestamp: node.string("Timestamp").flatMap(ISO8601.parse))
            }
            token = result.string("NextToken").flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < maxPages
        return events
    }

    /// CreateChangeSet (`changeSetType` `CREATE` for a new stack, `UPDATE` for an existing one); returns its ID.
    public func createChangeSet(
        stackName: String, changeSetName: String, changeSetType: String, template: CloudFormation.Template,
        parameters: [String: String] = [:], capabilities: [String] = ["CAPABILITY_NAMED_IAM"],
        clientToken: String = RandomID.uuidString()
    ) throws(AWSError) -> String {
        var query = stackParameters(stackName: stackName, template: template, parameters: parameters,
                                    capabilities: capabilities)
        query.add("ChangeSetName", changeSetName)
        query.add("ChangeSetType", changeSetType)
        query.add("ClientToken", clientToken)
        return try queryCall(.cloudFormation, action: "CreateChangeSet", parameters: query.pairs).string("Id") ?? ""
    }

    /// DescribeChangeSet.
    public func describeChangeSet(stackName: String, changeSetName: String) throws(AWSError)
        -> CloudFormation.ChangeSet
    {
        let result = try queryCall(.cloudFormation, action: "DescribeChangeSet",
                                   parameters: [("StackName", stackName), ("ChangeSetName", changeSetName)])
        return CloudFormation.ChangeSet(
            id: result.string("ChangeSetId") ?? "", stackID: result.string("StackId"), status: result.string("Status"),
            statusReason: result.string("StatusReason"), executionStatus: result.string("ExecutionStatus"),
            changes: result.members("Changes").compactMap { change in
                guard let resource = change.child("ResourceChange") else { return nil }
                return CloudFormation.Change(action: resource.string("Action") ?? "",
                                             logicalResourceID: resource.string("LogicalResourceId") ?? "",
                                             resourceType: resource.string("ResourceType") ?? "")
            })
    }

    /// ExecuteChangeSet.
    public func executeChangeSet(stackName: String, changeSetName: String,
                                 clientRequestToken: String = RandomID.uuidString()) throws(AWSError) {
        _ = try queryCall(.cloudFormation, action: "ExecuteChangeSet",
                          parameters: [("StackName", stackName), ("ChangeSetName", changeSetName),
                                       ("ClientRequestToken", clientRequestToken)])
    }
}
