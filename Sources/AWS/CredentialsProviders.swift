import CurlHTTP
import HTTP
import JSONCoding
import OdinBasics
import Synchronization

/// A source of credentials.
///
/// `credentials()` returns usable credentials or throws an `AWSError` of kind `.credentials` that says which source
/// failed and how to fix it.
public protocol AWSCredentialsProvider: Sendable {
    func credentials() throws(AWSError) -> AWSCredentials
}

/// A link of the default chain: nil means "not configured here, ask the next one"; a throw means "configured but
/// broken" and stops the chain (so a typo in a profile is reported, not silently skipped).
public protocol AWSCredentialsSource: Sendable {
    /// Name used in errors (`environment`, `profile default`, `container`, `instance metadata`).
    var name: String { get }
    func resolve() throws(AWSError) -> AWSCredentials?
}

func credentialsError(_ message: String, code: String = "CredentialsNotFound") -> AWSError {
    AWSError(kind: .credentials, service: "AWS", operation: "credentials", code: code, message: message)
}

// MARK: - Static and environment

/// Fixed credentials (e.g. from command-line options or tests).
public struct StaticCredentialsProvider: AWSCredentialsProvider, AWSCredentialsSource {
    public var value: AWSCredentials
    public var name: String { "explicit" }
    public init(_ value: AWSCredentials) { self.value = value }
    public func credentials() throws(AWSError) -> AWSCredentials { value }
    public func resolve() throws(AWSError) -> AWSCredentials? { value }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` from an environment snapshot.
public struct EnvironmentCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    public var name: String { "environment" }
    public init(environment: [String: String]) { self.environment = environment }

    public func resolve() throws(AWSError) -> AWSCredentials? {
        let key = environment["AWS_ACCESS_KEY_ID"].nonEmpty
        let secret = environment["AWS_SECRET_ACCESS_KEY"].nonEmpty
        switch (key, secret) {
        case (nil, nil): return nil
        case (let key?, let secret?):
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                  sessionToken: environment["AWS_SESSION_TOKEN"].nonEmpty)
        default:
            throw credentialsError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (only "
                + (key == nil ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") + " is set)",
                code: "InvalidCredentials")
        }
    }
}

// MARK: - Shared files

/// A profile of the shared files: static keys (`aws_access_key_id` …), or `role_arn` with `source_profile` (or
/// `credential_source = Environment`), assumed through STS AssumeRole. Role chains are followed up to 5 deep.
public struct ProfileCredentialsSource: AWSCredentialsSource {
    public typealias AssumeRole = @Sendable (
        _ source: AWSCredentials, _ roleARN: String, _ sessionName: String, _ externalID: String?,
        _ durationSeconds: Int?
    ) throws(AWSError) -> AWSCredentials

    public let profileName: String
    public let sharedConfig: SharedConfig
    public let environment: [String: String]
    /// Whether the profile was asked for explicitly (`AWS_PROFILE`): then a missing profile is an error.
    public let isExplicit: Bool
    let assumeRole: AssumeRole

    public var name: String { "profile \(profileName)" }

    public init(profileName: String, sharedConfig: SharedConfig, environment: [String: String], isExplicit: Bool,
                assumeRole: @escaping AssumeRole) {
        self.profileName = profileName
        self.sharedConfig = sharedConfig
        self.environment = environment
        self.isExplicit = isExplicit
        self.assumeRole = assumeRole
    }

    public func resolve() throws(AWSError) -> AWSCredentials? {
        guard sharedConfig.profiles[profileName] != nil else {
            if isExplicit {
                throw credentialsError("profile '\(profileName)' (from AWS_PROFILE) is not in ~/.aws/credentials or "
                    + "~/.aws/config", code: "ProfileNotFound")
            }
            return nil
        }
        return try resolve(profileName, depth: 0)
    }

    private func resolve(_ name: String, depth: Int) throws(AWSError) -> AWSCredentials? {
        guard depth < 5 else { throw credentialsError("role chain from profile '\(profileName)' is too deep") }
        guard let settings = sharedConfig.profiles[name] else {
            throw credentialsError("source_profile '\(name)' does not exist", code: "ProfileNotFound")
        }
        if let roleARN = settings["role_arn"].nonEmpty {
            let source: AWSCredentials
            if let sourceProfile = settings["source_profile"].nonEmpty {
                // A profile that names itself as source uses its own static keys.
                if sourceProfile == name {
                    guard let own = try staticKeys(settings, name) else {
                        throw credentialsError("profile '\(name)' is its own source_profile but has no keys")
                    }
                    source = own
                } else {
                    guard let resolved = try resolve(sourceProfile, depth: depth + 1) else {
                        throw credentialsError("source_profile '\(sourceProfile)' of profile '\(name)' has no "
                            + "credentials")
                    }
                    source = resolved
                }
            } else if settings["credential_source"]?.lowercased() == "environment" {
                guard let fromEnvironment = try EnvironmentCredentialsSource(environment: environment).resolve() else {
                    throw credentialsError("profile '\(name)' uses credential_source = Environment but "
                        + "AWS_ACCESS_KEY_ID is not set")
                }
                source = fromEnvironment
            } else {
                throw credentialsError("profile '\(name)' has role_arn but neither source_profile nor "
                    + "credential_source = Environment", code: "InvalidProfile")
            }
            let sessionName = settings["role_session_name"].nonEmpty ?? "odins-ravne-session"
            let duration = settings["duration_seconds"].flatMap { Int($0) }
            return try assumeRole(source, roleARN, sessionName, settings["external_id"].nonEmpty, duration)
        }
        return try staticKeys(settings, name)
    }

    private func staticKeys(_ settings: [String: String], _ name: String) throws(AWSError) -> AWSCredentials? {
        let key = settings["aws_access_key_id"].nonEmpty
        let secret = settings["aws_secret_access_key"].nonEmpty
        switch (key, secret) {
        case (nil, nil): return nil
        case (let key?, let secret?):
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                  sessionToken: settings["aws_session_token"].nonEmpty)
        default:
            throw credentialsError("profile '\(name)' needs both aws_access_key_id and aws_secret_access_key",
                                   code: "InvalidProfile")
        }
    }
}

// MARK: - Container and instance metadata endpoints

/// The credentials JSON that the container endpoint, IMDS and (in another shape) STS return.
struct EndpointCredentialsDocument: Decodable {
    var Code: String?
    var Message: String?
    var AccessKeyId: String?
    var SecretAccessKey: String?
    var Token: String?
    var Expiration: String?

    func credentials(source: String) throws(AWSError) -> AWSCredentials {
        if let code = Code, code != "Success" {
            throw credentialsError("\(source) returned \(code): \(Message ?? "")", code: "CredentialsEndpointError")
        }
        guard let key = AccessKeyId, let secret = SecretAccessKey else {
            throw credentialsError("\(source) response has no AccessKeyId/SecretAccessKey",
                                   code: "CredentialsEndpointError")
        }
        var expiration: Instant?
        if let text = Expiration {
            guard let date = ISO8601.parse(text) else {
                throw credentialsError("\(source) returned an unreadable Expiration", code: "CredentialsEndpointError")
            }
            expiration = date
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: Token, expiration: expiration)
    }
}

/// Small blocking GET/PUT helper for credential endpoints (own short-lived `HTTPClient`, short timeouts, never
/// through a proxy).
func fetchCredentialEndpoint(
    _ request: HTTPRequest, source: String, connectTimeout: Int = 2, totalTimeout: Int = 5
) throws(AWSError) -> HTTPResponse? {
    var options = HTTPClient.Options()
    options.connectTimeoutSeconds = connectTimeout
    options.totalTimeoutSeconds = totalTimeout
    options.useProxyFromEnvironment = false
    do throws(HTTPError) {
        let client = try HTTPClient(options: options)
        return try client.send(request)
    } catch {
        if error.kind == .connect || error.kind == .timeout { return nil }
        throw credentialsError("\(source): \(error.description)", code: "CredentialsEndpointError")
    }
}

/// ECS/Batch container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (HTTPS, or HTTP only to loopback / the ECS and EKS link-local hosts), with
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `…_TOKEN_FILE` as the `Authorization` header.
public struct ContainerCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    public var name: String { "container credentials endpoint" }
    public init(environment: [String: String]) { self.environment = environment }

    static let allowedHTTPHosts: Set<String> = ["127.0.0.1", "localhost", "[::1]", "169.254.170.2",
                                                "169.254.170.23", "[fd00:ec2::23]"]

    public func resolve() throws(AWSError) -> AWSCredentials? {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].nonEmpty {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"].nonEmpty {
            guard let parts = URLParts(full) else {
                throw credentialsError("AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL",
                                       code: "InvalidConfiguration")
            }
            var host = parts.authority.lowercased()
            if !host.hasPrefix("["), let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
            if host.hasPrefix("["), let close = host.firstIndex(of: "]") { host = String(host[...close]) }
            guard parts.scheme == "https" || Self.allowedHTTPHosts.contains(host) || host.hasPrefix("127.") else {
                throw credentialsError("AWS_CONTAINER_CREDENTIALS_FULL_URI must use https or a loopback / "
                    + "169.254.170.2 / 169.254.170.23 host, got \(host)", code: "InvalidConfiguration")
            }
            url = full
        } else {
            return nil
        }
        var headers = HTTPHeaders()
        if let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].nonEmpty {
            let token = SharedConfig.readText(tokenFile).trimmingCharacters(in: .whitespaces)
            guard !token.isEmpty else {
                throw credentialsError("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (\(tokenFile)) is missing or empty",
                                       code: "InvalidConfiguration")
            }
            headers.add(name: "Authorization", value: token)
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].nonEmpty {
            headers.add(name: "Authorization", value: token)
        }
        headers.add(name: "Accept", value: "application/json")
        guard let response = try fetchCredentialEndpoint(HTTPRequest(url: url, headers: headers), source: name) else {
            throw credentialsError("\(name) at \(AWSClient.redactedURL(url)) is unreachable",
                                   code: "CredentialsEndpointError")
        }
        guard response.status == 200 else {
            throw credentialsError("\(name) answered HTTP \(response.status)", code: "CredentialsEndpointError")
        }
        guard let document = try? JSONCoder.decode(EndpointCredentialsDocument.self, from: response.body)
        else { throw credentialsError("\(name) returned invalid JSON", code: "CredentialsEndpointError") }
        return try document.credentials(source: name)
    }
}

/// EC2 instance metadata (IMDSv2 only: a session token from `PUT /latest/api/token`, then the role's credentials).
/// Endpoint from `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`); disabled by
/// `AWS_EC2_METADATA_DISABLED=true`. An unreachable endpoint means "not on EC2" (nil), after a 1 s connect timeout.
public struct InstanceMetadataCredentialsSource: AWSCredentialsSource {
    public let environment: [String: String]
    public var name: String { "instance metadata (IMDSv2)" }
    public init(environment: [String: String]) { self.environment = environment }

    public func resolve() throws(AWSError) -> AWSCredentials? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        let base = AWSEndpointResolver.trimmed(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].nonEmpty
            ?? "http://169.254.169.254")
        let tokenRequest = HTTPRequest(method: "PUT", url: base + "/latest/api/token",
                                       headers: HTTPHeaders([("X-aws-ec2-metadata-token-ttl-seconds", "21600")]))
        guard let tokenResponse = try fetchCredentialEndpoint(tokenRequest, source: name, connectTimeout: 1,
                                                              totalTimeout: 2) else { return nil }
        guard tokenResponse.status == 200 else {
            throw credentialsError("\(name): token request answered HTTP \(tokenResponse.status)",
                                   code: "CredentialsEndpointError")
        }
        let token = String(decoding: tokenResponse.body, as: UTF8.self)
        let headers = HTTPHeaders([("X-aws-ec2-metadata-token", token)])
        let listURL = base + "/latest/meta-data/iam/security-credentials/"
        guard let roleResponse = try fetchCredentialEndpoint(HTTPRequest(url: listURL, headers: headers),
                                                             source: name), roleResponse.status == 200 else {
            throw credentialsError("\(name): no IAM role attached to this instance", code: "CredentialsNotFound")
        }
        let role = String(decoding: roleResponse.body, as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" }).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !role.isEmpty else { throw credentialsError("\(name): empty role list") }
        guard let response = try fetchCredentialEndpoint(
            HTTPRequest(url: listURL + URIEncoding.encode(role), headers: headers), source: name),
            response.status == 200 else {
            throw credentialsError("\(name): could not read credentials for role \(role)",
                                   code: "CredentialsEndpointError")
        }
        guard let document = try? JSONCoder.decode(EndpointCredentialsDocument.self, from: response.body)
        else { throw credentialsError("\(name) returned invalid JSON", code: "CredentialsEndpointError") }
        return try document.credentials(source: name)
    }
}

// MARK: - Chain and refresh

/// Tries sources in order; the first that resolves wins.
public struct AWSCredentialsChain: AWSCredentialsProvider {
    public let sources: [any AWSCredentialsSource]

    public init(_ sources: [any AWSCredentialsSource]) { self.sources = sources }

    public func credentials() throws(AWSError) -> AWSCredentials {
        for source in sources {
            if let credentials = try source.resolve() { return credentials }
        }
        throw credentialsError("no AWS credentials found (tried: " + sources.map(\.name).joined(separator: ", ")
            + "); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role")
    }

    /// The SDK order: explicit → environment → shared files (`AWS_PROFILE`, default `default`) → container
    /// endpoint → EC2 instance metadata, wrapped in a `RefreshingCredentialsProvider`. Role profiles assume their
    /// role through STS in `region` (endpoint overrides from `environment` apply).
    public static func makeDefault(
        environment: [String: String], sharedConfig: SharedConfig? = nil, explicit: AWSCredentials? = nil,
        region: String, now: @escaping @Sendable () -> Instant = { Instant.now }
    ) -> RefreshingCredentialsProvider {
        let shared = sharedConfig ?? SharedConfig.load(environment: environment)
        var sources: [any AWSCredentialsSource] = []
        if let explicit { sources.append(StaticCredentialsProvider(explicit)) }
        sources.append(EnvironmentCredentialsSource(environment: environment))
        let profileName = environment["AWS_PROFILE"].nonEmpty ?? environment["AWS_DEFAULT_PROFILE"].nonEmpty
        let profile = shared.profiles[profileName ?? "default"] ?? [:]
        let endpoints = AWSEndpointResolver(environment: environment, profile: profile)
        sources.append(ProfileCredentialsSource(
            profileName: profileName ?? "default", sharedConfig: shared, environment: environment,
            isExplicit: profileName != nil,
            assumeRole: { source, roleARN, sessionName, externalID, duration throws(AWSError) in
                let client = AWSClient(configuration: AWSClient.Configuration(
                    region: region, credentials: StaticCredentialsProvider(source), endpoints: endpoints, now: now))
                return try client.assumeRole(roleARN: roleARN, sessionName: sessionName, externalID: externalID,
                                             durationSeconds: duration).credentials
            }))
        sources.append(ContainerCredentialsSource(environment: environment))
        sources.append(InstanceMetadataCredentialsSource(environment: environment))
        return RefreshingCredentialsProvider(AWSCredentialsChain(sources), now: now)
    }
}

/// Caches what another provider returns and fetches again shortly before temporary credentials expire
/// (`refreshMargin`, default 5 minutes). If a refresh fails while the cached credentials are still valid, the
/// cached ones are used. Thread-safe: concurrent callers during a refresh wait for the one fetch.
public final class RefreshingCredentialsProvider: AWSCredentialsProvider {
    public let base: any AWSCredentialsProvider
    public let refreshMargin: Double
    private let now: @Sendable () -> Instant
    private let cached = Mutex<AWSCredentials?>(nil)

    public init(_ base: any AWSCredentialsProvider, refreshMargin: Double = 300,
                now: @escaping @Sendable () -> Instant = { Instant.now }) {
        self.base = base
        self.refreshMargin = refreshMargin
        self.now = now
    }

    public func credentials() throws(AWSError) -> AWSCredentials {
        let result: Result<AWSCredentials, AWSError> = cached.withLock { cached in
            let instant = now()
            if let current = cached, !current.isExpiring(at: instant, margin: refreshMargin) {
                return .success(current)
            }
            do throws(AWSError) {
                let fresh = try base.credentials()
                cached = fresh
                return .success(fresh)
            } catch {
                if let current = cached, !current.isExpiring(at: instant, margin: 0) { return .success(current) }
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Forgets the cached credentials (e.g. after an `ExpiredToken` error).
    public func invalidate() { cached.withLock { $0 = nil } }
}

extension AWSCredentialsChain: AWSCredentialsSource {
    public var name: String { "chain" }
    public func resolve() throws(AWSError) -> AWSCredentials? { try credentials() }
}
