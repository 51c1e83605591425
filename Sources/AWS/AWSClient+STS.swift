import OdinBasics

/// STS (query protocol): GetCallerIdentity and AssumeRole.
extension AWSClient {
    public struct CallerIdentity: Sendable, Equatable {
        public var account: String
        public var arn: String
        public var userID: String
    }

    public struct AssumedRole: Sendable {
        public var credentials: AWSCredentials
        public var assumedRoleARN: String
        public var assumedRoleID: String
    }

    /// STS GetCallerIdentity.
    public func getCallerIdentity() throws(AWSError) -> CallerIdentity {
        let result = try queryCall(.sts, action: "GetCallerIdentity", parameters: [])
        return CallerIdentity(account: result.string("Account") ?? "", arn: result.string("Arn") ?? "",
                              userID: result.string("UserId") ?? "")
    }

    /// STS AssumeRole; the returned credentials expire (`expiration`).
    public func assumeRole(
        roleARN: String, sessionName: String, externalID: String? = nil, durationSeconds: Int? = nil
    ) throws(AWSError) -> AssumedRole {
        var parameters = QueryParameters()
        parameters.add("RoleArn", roleARN)
        parameters.add("RoleSessionName", sessionName)
        parameters.add("ExternalId", externalID)
        parameters.add("DurationSeconds", durationSeconds)
        let result = try queryCall(.sts, action: "AssumeRole", parameters: parameters.pairs)
        guard let node = result.child("Credentials"), let key = node.string("AccessKeyId"),
              let secret = node.string("SecretAccessKey") else {
            throw AWSError(kind: .invalidResponse, service: "STS", operation: "AssumeRole", status: 200,
                           code: "InvalidResponse", message: "AssumeRole response has no Credentials")
        }
        return AssumedRole(
            credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                        sessionToken: node.string("SessionToken"),
                                        expiration: node.string("Expiration").flatMap(ISO8601.parse)),
            assumedRoleARN: result["AssumedRoleUser", "Arn"]?.text ?? "",
            assumedRoleID: result["AssumedRoleUser", "AssumedRoleId"]?.text ?? "")
    }
}
