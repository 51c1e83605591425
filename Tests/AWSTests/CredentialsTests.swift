import AWS
import Foundation
import HTTP
import OdinBasics
import RuntimeEmulator
import Synchronization
import TestSupport
import Testing

/// The credentials chain: environment, shared files in a temporary HOME, STS AssumeRole through moto, the container
/// endpoint and IMDSv2 served by loopback servers, and refresh before expiry.
@Suite struct CredentialsTests {
    static func temporaryHome(credentials: String = "", config: String = "") throws -> String {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("aws-home")).path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try credentials.write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        try config.write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8)
        return home
    }

    /// Environment that keeps IMDS away (so tests never wait on 169.254.169.254).
    static let noIMDS = ["AWS_EC2_METADATA_DISABLED": "true"]

    @Test func environmentAndOrder() throws {
        let environment = Self.noIMDS.merging(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s",
                                               "AWS_SESSION_TOKEN": "t", "HOME": "/nonexistent"]) { $1 }
        let fromEnvironment = try AWSCredentialsChain.makeDefault(environment: environment, region: "eu-north-1")
            .credentials()
        #expect(fromEnvironment.accessKeyID == "AKIDENV" && fromEnvironment.sessionToken == "t")
        let explicit = try AWSCredentialsChain.makeDefault(
            environment: environment, explicit: AWSCredentials(accessKeyID: "AKIDX", secretAccessKey: "x"),
            region: "eu-north-1").credentials()
        #expect(explicit.accessKeyID == "AKIDX")
        let partial = #expect(throws: AWSError.self) {
            try AWSCredentialsChain.makeDefault(environment: ["AWS_ACCESS_KEY_ID": "only"], region: "x").credentials()
        }
        #expect(partial?.kind == .credentials && partial?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
        let none = #expect(throws: AWSError.self) {
            try AWSCredentialsChain.makeDefault(environment: Self.noIMDS.merging(["HOME": "/nonexistent"]) { $1 },
                                                region: "x").credentials()
        }
        #expect(none?.code == "CredentialsNotFound")
    }

    @Test func profilesFromSharedFiles() throws {
        let home = try Self.temporaryHome(
            credentials: "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = def\n"
                + "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev\n",
            config: "[default]\nregion = eu-north-1\n[profile dev]\nregion = us-west-2\n")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let base = Self.noIMDS.merging(["HOME": home]) { $1 }
        #expect(try AWSCredentialsChain.makeDefault(environment: base, region: "x").credentials().accessKeyID
            == "AKIDDEF")
        let dev = base.merging(["AWS_PROFILE": "dev"]) { $1 }
        #expect(try AWSCredentialsChain.makeDefault(environment: dev, region: "x").credentials().accessKeyID
            == "AKIDDEV")
        #expect(try AWSClient.Configuration.fromEnvironment(dev).region == "us-west-2")
        #expect(try AWSClient.Configuration.fromEnvironment(dev.merging(["AWS_REGION": "eu-west-1"]) { $1 }).region
            == "eu-west-1")
        let missing = #expect(throws: AWSError.self) {
            try AWSCredentialsChain.makeDefault(environment: base.merging(["AWS_PROFILE": "nope"]) { $1 },
                                                region: "x").credentials()
        }
        #expect(missing?.code == "ProfileNotFound")
        let noRegion = #expect(throws: AWSError.self) {
            try AWSClient.Configuration.fromEnvironment(["HOME": "/nonexistent"])
        }
        #expect(noRegion?.message.contains("AWS_REGION") == true)
    }

    @Test(.requires(.venv)) func roleProfileAssumesRoleThroughSTS() throws {
        guard let moto = SignedMoto.require() else { return }
        let roleARN = try moto.role(uniqueName("ops"))
        let home = try Self.temporaryHome(
            credentials: "[base]\naws_access_key_id = \(moto.credentials.accessKeyID)\n"
                + "aws_secret_access_key = \(moto.credentials.secretAccessKey)\n",
            config: "[profile ops]\nrole_arn = \(roleARN)\nsource_profile = base\nrole_session_name = odin-cli\n"
                + "region = us-east-1\n")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = Self.noIMDS.merging(["HOME": home, "AWS_PROFILE": "ops", "AWS_ENDPOINT_URL": moto.endpoint]) {
            $1
        }
        let configuration = try AWSClient.Configuration.fromEnvironment(environment)
        let credentials = try configuration.credentials.credentials()
        #expect(credentials.sessionToken != nil && credentials.expiration != nil)
        #expect(credentials.accessKeyID != moto.credentials.accessKeyID)
        let identity = try AWSClient(configuration: configuration).getCallerIdentity()
        #expect(identity.arn.contains("assumed-role") && identity.arn.contains("odin-cli"))
    }

    static func credentialsJSON(_ key: String, expiration: String) -> String {
        #"{"Code":"Success","AccessKeyId":"\#(key)","SecretAccessKey":"secret-\#(key)","Token":"token-\#(key)","Expiration":"\#(expiration)"}"#
    }

    @Test func containerCredentialsEndpoint() throws {
        try ScriptedHTTPServer.with({ request in
            guard request.path == "/creds" else { return .text(404, "no") }
            guard request.header("Authorization") == "container-token" else { return .text(401, "unauthorized") }
            return .text(200, Self.credentialsJSON("AKIDCONTAINER", expiration: "2030-01-01T00:00:00Z"),
                         contentType: "application/json")
        }) { server in
            let environment = Self.noIMDS.merging([
                "HOME": "/nonexistent", "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-token",
            ]) { $1 }
            let credentials = try AWSCredentialsChain.makeDefault(environment: environment, region: "x").credentials()
            #expect(credentials.accessKeyID == "AKIDCONTAINER" && credentials.sessionToken == "token-AKIDCONTAINER")
            #expect(credentials.expiration == ISO8601.parse("2030-01-01T00:00:00Z"))

            let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("tok")).path
            try "container-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: tokenFile) }
            var fromFile = environment
            fromFile["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
            fromFile["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile
            #expect(try ContainerCredentialsSource(environment: fromFile).resolve()?.accessKeyID == "AKIDCONTAINER")

            var wrongToken = environment
            wrongToken["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
            let denied = #expect(throws: AWSError.self) {
                try ContainerCredentialsSource(environment: wrongToken).resolve()
            }
            #expect(denied?.message.contains("401") == true)
        }
        let remote = #expect(throws: AWSError.self) {
            try ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/x"])
                .resolve()
        }
        #expect(remote?.code == "InvalidConfiguration")
    }

    @Test func instanceMetadataV2() throws {
        try ScriptedHTTPServer.with({ request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                guard request.header("X-aws-ec2-metadata-token-ttl-seconds") != nil else { return .text(400, "ttl") }
                return .text(200, "imds-session-token")
            case ("GET", _) where request.header("X-aws-ec2-metadata-token") != "imds-session-token":
                return .text(401, "IMDSv1 is disabled")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return .text(200, "munin-instance-role")
            case ("GET", "/latest/meta-data/iam/security-credentials/munin-instance-role"):
                return .text(200, Self.credentialsJSON("AKIDIMDS", expiration: "2030-01-01T00:00:00Z"))
            default:
                return .text(404, "not found")
            }
        }) { server in
            let environment = ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL]
            let credentials = try AWSCredentialsChain.makeDefault(environment: environment, region: "x").credentials()
            #expect(credentials.accessKeyID == "AKIDIMDS" && credentials.sessionToken == "token-AKIDIMDS")
            #expect(server.requestCount == 3)
        }
        // Nothing listening: "not on EC2", so the chain reports that no credentials were found.
        let closedPort = try ScriptedHTTPServer.with({ _ in .text(200, "") }) { $0.port }
        #expect(try InstanceMetadataCredentialsSource(
            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closedPort)"]).resolve() == nil)
    }

    @Test func temporaryCredentialsRefreshBeforeExpiry() throws {
        let fetches = TestCounter()
        let expiry = "2030-01-01T00:00:00Z"
        try ScriptedHTTPServer.with({ _ in
            let number = fetches.increment()
            return .text(200, Self.credentialsJSON("AKID\(number)", expiration: expiry))
        }) { server in
            let clock = TestClock(ISO8601.parse("2029-12-31T22:00:00Z")!)
            let provider = RefreshingCredentialsProvider(
                ContainerCredentialsSource(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/c"])
                    .asProvider(),
                refreshMargin: 300, now: { clock.now })
            let first = try provider.credentials().accessKeyID
            let second = try provider.credentials().accessKeyID
            clock.set(ISO8601.parse("2029-12-31T23:56:00Z")!)
            let third = try provider.credentials().accessKeyID
            #expect(first == "AKID1")
            #expect(second == "AKID1", "cached while far from expiry")
            #expect(third == "AKID2", "refreshed inside the 5-minute margin")
            #expect(fetches.value == 2)
        }
    }
}

extension AWSCredentialsSource {
    /// Adapts a source to a provider (for wrapping one source in `RefreshingCredentialsProvider`).
    func asProvider() -> AWSCredentialsChain { AWSCredentialsChain([self]) }
}

/// A settable clock for tests.
final class TestClock: Sendable {
    private let instant: Mutex<Instant>
    init(_ start: Instant) { instant = Mutex(start) }
    var now: Instant { instant.withLock { $0 } }
    func set(_ date: Instant) { instant.withLock { $0 = date } }
}

/// A thread-safe counter for tests.
final class TestCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() -> Int {
        count.withLock { count in
            count += 1
            return count
        }
    }
}
