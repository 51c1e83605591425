import AWS
import Foundation
import HTTP
import OdinBasics
import Testing
import TestSupport

/// A private moto_server with signature checking switched on (`/moto-api/reset-auth`), shared by this test
/// process: every request must be signed with the IAM access key created here, so a wrong signature fails the
/// test. The suite-wide server of `scripts/with-moto.sh` is left alone (reset-auth is global per server).
final class SignedMoto: Sendable {
    let server: MotoServer
    let credentials: AWSCredentials
    var endpoint: String { server.endpoint }

    /// nil when there is no venv (skip locally); in CI (`CI=true`) the caller records a failure.
    static let shared: Result<SignedMoto, TestServerError> = {
        do {
            return .success(try SignedMoto())
        } catch let error as TestServerError {
            return .failure(error)
        } catch {
            return .failure(TestServerError("\(error)"))
        }
    }()

    private init() throws {
        server = try MotoServer()
        let bootstrap = AWSCredentials(accessKeyID: "bootstrap", secretAccessKey: "bootstrap")
        _ = try Self.iam(server.endpoint, bootstrap, ["Action": "CreateUser", "UserName": "odin-aws-tests"])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try Self.iam(server.endpoint, bootstrap, ["Action": "PutUserPolicy", "UserName": "odin-aws-tests",
                                                      "PolicyName": "all", "PolicyDocument": policy])
        let key = try Self.iam(server.endpoint, bootstrap, ["Action": "CreateAccessKey", "UserName": "odin-aws-tests"])
        let root = try XMLNode.parse(Array(key.utf8))
        guard let id = root.first(named: "AccessKeyId")?.text, let secret = root.first(named: "SecretAccessKey")?.text
        else { throw TestServerError("CreateAccessKey returned no key: \(key)") }
        credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret)
        let reset = try MotoServer.request("POST", "\(server.endpoint)/moto-api/reset-auth", body: "0")
        guard reset.status == 200 else { throw TestServerError("reset-auth failed: \(reset)") }
    }

    static func iam(_ endpoint: String, _ credentials: AWSCredentials, _ parameters: [String: String]) throws -> String {
        try rawQuery(endpoint, credentials, service: "iam", version: "2010-05-08", parameters)
    }

    /// A signed query-protocol call this client does not offer (IAM, EC2 lookups), for test setup.
    func query(service: String, version: String, _ parameters: [String: String]) throws -> XMLNode {
        try XMLNode.parse(Array(Self.rawQuery(endpoint, credentials, service: service, version: version,
                                              parameters).utf8))
    }

    static func rawQuery(_ endpoint: String, _ credentials: AWSCredentials, service: String, version: String,
                         _ parameters: [String: String]) throws -> String {
        try SignedQuery.post(endpoint, credentials, service: service, version: version, parameters)
    }

    /// An IAM role (created once per name) that Batch and STS tests can use; returns its ARN.
    func role(_ name: String) throws -> String {
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#
        let created = try query(service: "iam", version: "2010-05-08",
                                ["Action": "CreateRole", "RoleName": name, "AssumeRolePolicyDocument": trust])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try query(service: "iam", version: "2010-05-08",
                      ["Action": "PutRolePolicy", "RoleName": name, "PolicyName": "all", "PolicyDocument": policy])
        return created.first(named: "Arn")?.text ?? ""
    }

    /// A client for this server (all services go to it, S3 path-style).
    func makeClient(region: String = "us-east-1", retry: RetryStrategy = RetryStrategy(), logger: Logger? = nil,
                    credentials: AWSCredentials? = nil, endpoint: String? = nil,
                    retryQuota: RetryQuota = RetryQuota()) -> AWSClient {
        AWSClient(
            configuration: AWSClient.Configuration(
                region: region, credentials: StaticCredentialsProvider(credentials ?? self.credentials),
                endpoints: AWSEndpointResolver(globalOverride: endpoint ?? self.endpoint), retry: retry,
                logger: logger, random: { 0 }, sleep: { _ in }),
            retryQuota: retryQuota)
    }

    /// The shared signed server, or nil after recording a failure saying why it did not start. Suites using it
    /// declare `.requires(.venv)`, which skips them (or fails them under `make test`) when the venv is missing.
    static func require() -> SignedMoto? {
        switch shared {
        case .success(let moto):
            return moto
        case .failure(let error):
            Issue.record("moto_server did not start: \(error)")
            return nil
        }
    }
}

/// A name unique to this test run (buckets, tables, queues).
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}
