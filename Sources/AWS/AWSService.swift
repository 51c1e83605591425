/// The AWS services this client speaks, with their wire protocol, signing name, endpoint prefix and the suffix of
/// their `AWS_ENDPOINT_URL_<SERVICE>` variable (the SDKs' service-specific endpoint convention:
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
public struct AWSService: Sendable, Hashable, CustomStringConvertible {
    /// The service ID used in errors and logs (`S3`, `Batch`, …).
    public let id: String
    /// SigV4 credential-scope name (`s3`, `batch`, `monitoring` for CloudWatch).
    public let signingName: String
    /// Host prefix of the regional endpoint (`monitoring` → `monitoring.eu-north-1.amazonaws.com`).
    public let endpointPrefix: String
    /// `AWS_ENDPOINT_URL_<suffix>`.
    public let environmentSuffix: String
    public let wireProtocol: AWSProtocol
    /// API version for the query protocol, target prefix for JSON.
    public let apiVersion: String
    /// For a global service (IAM): the region it is signed for, its endpoint having no region in it
    /// (`https://iam.amazonaws.com`); nil for a regional service.
    public let globalRegion: String?

    public init(id: String, signingName: String, endpointPrefix: String, environmentSuffix: String,
                wireProtocol: AWSProtocol, apiVersion: String, globalRegion: String? = nil) {
        self.id = id
        self.signingName = signingName
        self.endpointPrefix = endpointPrefix
        self.environmentSuffix = environmentSuffix
        self.wireProtocol = wireProtocol
        self.apiVersion = apiVersion
        self.globalRegion = globalRegion
    }

    /// The region requests are signed for: a global service's own (cn-north-1 in the China partition), else the
    /// client's.
    public func signingRegion(clientRegion: String) -> String {
        guard let globalRegion else { return clientRegion }
        return clientRegion.hasPrefix("cn-") ? "cn-north-1" : globalRegion
    }

    public var description: String { id }

    public static let s3 = AWSService(id: "S3", signingName: "s3", endpointPrefix: "s3", environmentSuffix: "S3",
                                      wireProtocol: .restXML, apiVersion: "2006-03-01")
    public static let batch = AWSService(id: "Batch", signingName: "batch", endpointPrefix: "batch",
                                         environmentSuffix: "BATCH", wireProtocol: .restJSON, apiVersion: "2016-08-10")
    public static let dynamoDB = AWSService(id: "DynamoDB", signingName: "dynamodb", endpointPrefix: "dynamodb",
                                            environmentSuffix: "DYNAMODB", wireProtocol: .json,
                                            apiVersion: "DynamoDB_20120810")
    public static let sns = AWSService(id: "SNS", signingName: "sns", endpointPrefix: "sns",
                                       environmentSuffix: "SNS", wireProtocol: .query, apiVersion: "2010-03-31")
    public static let cloudWatch = AWSService(id: "CloudWatch", signingName: "monitoring",
                                              endpointPrefix: "monitoring", environmentSuffix: "CLOUDWATCH",
                                              wireProtocol: .query, apiVersion: "2010-08-01")
    public static let ec2 = AWSService(id: "EC2", signingName: "ec2", endpointPrefix: "ec2", environmentSuffix: "EC2",
                                       wireProtocol: .query, apiVersion: "2016-11-15")
    public static let sts = AWSService(id: "STS", signingName: "sts", endpointPrefix: "sts", environmentSuffix: "STS",
                                       wireProtocol: .query, apiVersion: "2011-06-15")
    public static let cloudFormation = AWSService(id: "CloudFormation", signingName: "cloudformation",
                                                  endpointPrefix: "cloudformation",
                                                  environmentSuffix: "CLOUDFORMATION", wireProtocol: .query,
                                                  apiVersion: "2010-05-15")
    /// IAM: global (one endpoint per partition, signed for its first region).
    public static let iam = AWSService(id: "IAM", signingName: "iam", endpointPrefix: "iam", environmentSuffix: "IAM",
                                       wireProtocol: .query, apiVersion: "2010-05-08", globalRegion: "us-east-1")
}

/// Where requests for a service go.
public struct AWSEndpoint: Sendable, Equatable {
    /// Scheme and authority, optionally with a base path, without a trailing slash (`https://s3.eu-north-1…`).
    public var baseURL: String
    /// True when the endpoint came from configuration (S3 then uses path-style addressing).
    public var isOverride: Bool

    public init(baseURL: String, isOverride: Bool) {
        self.baseURL = baseURL
        self.isOverride = isOverride
    }
}

/// Resolves endpoints: `AWS_ENDPOINT_URL_<SERVICE>` → `AWS_ENDPOINT_URL` → the profile's `endpoint_url` →
/// the standard regional endpoint (`https://<prefix>.<region>.amazonaws.com`, `.amazonaws.com.cn` in China).
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` disables the overrides.
public struct AWSEndpointResolver: Sendable {
    public var serviceOverrides: [String: String]
    public var globalOverride: String?

    public init(serviceOverrides: [String: String] = [:], globalOverride: String? = nil) {
        self.serviceOverrides = serviceOverrides
        self.globalOverride = globalOverride
    }

    /// From an environment snapshot and (optionally) the active profile's settings.
    public init(environment: [String: String], profile: [String: String] = [:]) {
        self.init()
        if environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true" { return }
        for (name, value) in environment where name.hasPrefix("AWS_ENDPOINT_URL_") && !value.isEmpty {
            serviceOverrides[String(name.dropFirst("AWS_ENDPOINT_URL_".count))] = value
        }
        globalOverride = environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? profile["endpoint_url"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func endpoint(for service: AWSService, region: String) -> AWSEndpoint {
        if let url = serviceOverrides[service.environmentSuffix] ?? globalOverride {
            return AWSEndpoint(baseURL: Self.trimmed(url), isOverride: true)
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        if service.globalRegion != nil {
            // https://iam.amazonaws.com; in China the partition's one region-named endpoint.
            let host = region.hasPrefix("cn-") ? "\(service.endpointPrefix).cn-north-1" : service.endpointPrefix
            return AWSEndpoint(baseURL: "https://\(host).\(suffix)", isOverride: false)
        }
        return AWSEndpoint(baseURL: "https://\(service.endpointPrefix).\(region).\(suffix)", isOverride: false)
    }

    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
