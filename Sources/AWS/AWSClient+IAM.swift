import OdinBasics

/// IAM (query protocol, global): the few calls that set up a stack's roles on a local endpoint
/// (`odin replay --seed-local`).
public enum IAM {
    /// A role or instance profile: its name and ARN.
    public struct Resource: Sendable, Equatable {
        public var name: String
        public var arn: String
    }
}

extension AWSClient {
    /// CreateRole with a trust policy (JSON); throws `EntityAlreadyExists` when the role exists.
    public func createRole(name: String, assumeRolePolicyDocument: String, path: String? = nil)
        throws(AWSError) -> IAM.Resource
    {
        var parameters = QueryParameters()
        parameters.add("RoleName", name)
        parameters.add("AssumeRolePolicyDocument", assumeRolePolicyDocument)
        parameters.add("Path", path)
        let root = try queryCall(.iam, action: "CreateRole", parameters: parameters.pairs, isIdempotent: false)
        return try Self.iamResource(root, element: "Role", nameField: "RoleName", operation: "CreateRole")
    }

    /// GetRole; throws `NoSuchEntity` when there is none.
    public func getRole(name: String) throws(AWSError) -> IAM.Resource {
        let root = try queryCall(.iam, action: "GetRole", parameters: [("RoleName", name)])
        return try Self.iamResource(root, element: "Role", nameField: "RoleName", operation: "GetRole")
    }

    /// CreateInstanceProfile; throws `EntityAlreadyExists` when it exists.
    public func createInstanceProfile(name: String, path: String? = nil) throws(AWSError) -> IAM.Resource {
        var parameters = QueryParameters()
        parameters.add("InstanceProfileName", name)
        parameters.add("Path", path)
        let root = try queryCall(.iam, action: "CreateInstanceProfile", parameters: parameters.pairs,
                                 isIdempotent: false)
        return try Self.iamResource(root, element: "InstanceProfile", nameField: "InstanceProfileName",
                                    operation: "CreateInstanceProfile")
    }

    /// GetInstanceProfile; throws `NoSuchEntity` when there is none.
    public func getInstanceProfile(name: String) throws(AWSError) -> IAM.Resource {
        let root = try queryCall(.iam, action: "GetInstanceProfile", parameters: [("InstanceProfileName", name)])
        return try Self.iamResource(root, element: "InstanceProfile", nameField: "InstanceProfileName",
                                    operation: "GetInstanceProfile")
    }

    static func iamResource(_ root: XMLNode, element: String, nameField: String, operation: String)
        throws(AWSError) -> IAM.Resource
    {
        guard let node = root.child(element), let arn = node.string("Arn") else {
            throw AWSError(kind: .invalidResponse, service: "IAM", operation: operation, status: 200,
                           code: "InvalidResponse", message: "no \(element)/Arn in the response")
        }
        return IAM.Resource(name: node.string(nameField) ?? "", arn: arn)
    }
}
