import AWS
import Crypto
import FoundationEssentials
import HTTP
import OdinBasics

/// The few CloudFormation and S3 calls the deploy needs that the shared client does not have (DeleteStack,
/// DeleteChangeSet, GetTemplate, stack parameters, ListStackResources, ListObjectVersions, DeleteObjects), built on
/// its public `send`, so they are signed, retried and decoded like every other call.
extension AWSClient {
    // MARK: - CloudFormation (query protocol)

    func cloudFormationCall(_ action: String, _ parameters: [(String, String)]) throws(AWSError) -> XMLNode {
        let service = AWSService.cloudFormation
        var form = [("Action", action), ("Version", service.apiVersion)]
        form += parameters
        let request = HTTPRequest(
            method: "POST", url: endpoint(for: service).baseURL + "/",
            headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
            body: .bytes(Array(URIEncoding.formBody(form).utf8)))
        let operation = AWSOperation(service, action)
        let response = try send(request, operation: operation)
        let root = try Self.parseDeployXML(response.body, operation)
        return root.child(action + "Result") ?? root
    }

    static func parseDeployXML(_ body: [UInt8], _ operation: AWSOperation) throws(AWSError) -> XMLNode {
        do throws(XMLError) {
            return try XMLNode.parse(body)
        } catch {
            throw AWSError(kind: .invalidResponse, service: operation.service.id, operation: operation.name,
                           status: 200, code: "InvalidResponse", message: error.description)
        }
    }

    /// DeleteStack (returns at once; poll DescribeStacks for DELETE_COMPLETE).
    public func deleteStack(name: String) throws(AWSError) {
        _ = try cloudFormationCall("DeleteStack", [("StackName", name)])
    }

    /// DeleteChangeSet.
    public func deleteChangeSet(stackName: String, changeSetName: String) throws(AWSError) {
        _ = try cloudFormationCall("DeleteChangeSet", [("StackName", stackName), ("ChangeSetName", changeSetName)])
    }

    /// GetTemplate: the template body the stack runs now.
    public func getTemplate(stackName: String) throws(AWSError) -> String {
        try cloudFormationCall("GetTemplate", [("StackName", stackName)]).string("TemplateBody") ?? ""
    }

    /// The parameter values the stack runs with now (DescribeStacks `Parameters`).
    public func stackParameterValues(name: String) throws(AWSError) -> [String: String] {
        let result = try cloudFormationCall("DescribeStacks", [("StackName", name)])
        var values: [String: String] = [:]
        for parameter in result.members("Stacks").first?.members("Parameters") ?? [] {
            if let key = parameter.string("ParameterKey") { values[key] = parameter.string("ParameterValue") ?? "" }
        }
        return values
    }

    /// ListStackResources: (logical ID, physical ID, type) of every resource, following `NextToken`.
    public func listStackResources(name: String) throws(AWSError) -> [StackResource] {
        var resources: [StackResource] = []
        var token: String?
        repeat {
            var parameters = [("StackName", name)]
            if let token { parameters.append(("NextToken", token)) }
            let result = try cloudFormationCall("ListStackResources", parameters)
            resources += result.members("StackResourceSummaries").map { node in
                StackResource(logicalID: node.string("LogicalResourceId") ?? "",
                              physicalID: node.string("PhysicalResourceId") ?? "",
                              type: node.string("ResourceType") ?? "", status: node.string("ResourceStatus") ?? "")
            }
            token = result.string("NextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return resources
    }

    // MARK: - S3 versions

    /// One page of ListObjectVersions: every version and delete marker as (key, version ID).
    public func listObjectVersionsPage(bucket: String, keyMarker: String? = nil, versionIDMarker: String? = nil)
        throws(AWSError) -> (entries: [ObjectVersion], nextKeyMarker: String?, nextVersionIDMarker: String?)
    {
        var query = "versions"
        if let keyMarker { query += "&key-marker=" + URIEncoding.encode(keyMarker) }
        if let versionIDMarker { query += "&version-id-marker=" + URIEncoding.encode(versionIDMarker) }
        let operation = AWSOperation(.s3, "ListObjectVersions")
        let response = try send(HTTPRequest(method: "GET", url: s3URL(bucket: bucket, query: query)),
                                operation: operation)
        let root = try Self.parseDeployXML(response.body, operation)
        var entries: [ObjectVersion] = []
        for node in root.children where node.name == "Version" || node.name == "DeleteMarker" {
            entries.append(ObjectVersion(key: node.string("Key") ?? "", versionID: node.string("VersionId"),
                                         isDeleteMarker: node.name == "DeleteMarker"))
        }
        guard root.string("IsTruncated") == "true" else { return (entries, nil, nil) }
        return (entries, root.string("NextKeyMarker"), root.string("NextVersionIdMarker"))
    }

    /// DeleteObjects for up to 1000 (key, version) pairs; throws on the first per-object error S3 reports.
    public func deleteObjectVersions(bucket: String, _ objects: [ObjectVersion]) throws(AWSError) {
        guard !objects.isEmpty else { return }
        precondition(objects.count <= 1000, "DeleteObjects takes at most 1000 keys")
        var xml = XMLWriter()
        xml.element("Delete", namespace: "http://s3.amazonaws.com/doc/2006-03-01/") { xml in
            xml.element("Quiet", "true")
            for object in objects {
                xml.element("Object") {
                    $0.element("Key", object.key)
                    if let version = object.versionID, version != "null" { $0.element("VersionId", version) }
                }
            }
        }
        let body = xml.bytes
        let operation = AWSOperation(.s3, "DeleteObjects")
        let md5: [UInt8]
        do throws(CryptoError) {
            md5 = try MD5.hash(body)
        } catch {
            throw AWSError(kind: .invalidRequest, service: "S3", operation: operation.name, code: "CryptoError",
                           message: error.description)
        }
        let request = HTTPRequest(
            method: "POST", url: s3URL(bucket: bucket, query: "delete"),
            headers: HTTPHeaders([("Content-Type", "application/xml"),
                                  ("Content-MD5", Base64.encode(md5))]),
            body: .bytes(body))
        let response = try send(request, operation: operation)
        let root = try Self.parseDeployXML(response.body, operation)
        if let failure = root.children("Error").first {
            throw AWSError(service: "S3", operation: operation.name, status: response.status,
                           code: failure.string("Code") ?? "DeleteFailed",
                           message: "\(failure.string("Key") ?? "?"): \(failure.string("Message") ?? "")")
        }
    }
}

/// One resource of a stack (ListStackResources).
public struct StackResource: Sendable, Equatable {
    public var logicalID: String
    public var physicalID: String
    public var type: String
    public var status: String
}

/// One object version or delete marker (ListObjectVersions).
public struct ObjectVersion: Sendable, Equatable {
    public var key: String
    public var versionID: String?
    public var isDeleteMarker: Bool

    public init(key: String, versionID: String?, isDeleteMarker: Bool = false) {
        self.key = key
        self.versionID = versionID
        self.isDeleteMarker = isDeleteMarker
    }
}
