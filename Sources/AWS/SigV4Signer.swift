import Crypto
import HTTP
import OdinBasics

/// A SigV4 signing failure (a malformed URL, or libcrypto failing underneath).
public struct SigV4Error: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { "SigV4: \(message)" }
    public init(_ message: String) { self.message = message }
}

/// AWS Signature Version 4 as a pure value: credentials, region and signing name in, signed requests and presigned
/// URLs out. The time is always a parameter (`date:`), so results are reproducible.
///
/// The stages follow AWS's "Create a signed AWS API request" page
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
/// 1. `canonicalRequest` (with `canonicalURI`, `canonicalQueryString`, `canonicalHeaders`),
/// 2. the string to sign (with `credentialScope`), 3. `signingKey`, 4. the signature (`sign`).
///
/// S3 specifics (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): the path is
/// encoded once, not twice; every request carries `x-amz-content-sha256`, which may be `UNSIGNED-PAYLOAD`.
///
/// The signer sends exactly what it signs: `signed(_:)` rewrites the request URL with the canonical path and the
/// canonical (sorted, strictly percent-encoded) query string.
///
/// Files: this one (signing, stages 2–4), `SigV4Signer+CanonicalRequest.swift` (stage 1, over bytes, shared by
/// signed requests and presigned URLs), `SigningKeyCache.swift`, `AWSTimestamp.swift`, `ByteURL.swift`.
public struct SigV4Signer: Sendable {
    /// The `x-amz-content-sha256` value that leaves the payload out of the signature (S3 only).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty string, precomputed.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let algorithm = "AWS4-HMAC-SHA256"

    public var credentials: AWSCredentials
    public var region: String
    /// The signing name (credential-scope service), e.g. `s3`, `batch`, `monitoring` for CloudWatch.
    public var service: String
    private let keyCache: SigningKeyCache

    /// - Parameter keyCache: where derived signing keys are kept per date/region/service; shared by default.
    public init(credentials: AWSCredentials, region: String, service: String, keyCache: SigningKeyCache = .shared) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.keyCache = keyCache
    }

    var isS3: Bool { service == "s3" }

    // MARK: - Signing requests

    /// How the payload enters the signature.
    public enum Payload: Sendable {
        /// Hash the request body (a file body is read in blocks, never held in memory).
        case computed
        /// A hex SHA-256 the caller already knows.
        case precomputed(String)
        /// `UNSIGNED-PAYLOAD` (S3 only; the body is not covered by the signature).
        case unsigned
    }

    /// Returns `request` signed with an `Authorization` header, plus `X-Amz-Date`, `X-Amz-Security-Token` for
    /// temporary credentials and, for S3, `x-amz-content-sha256`. Any previous signature headers are replaced.
    ///
    /// This is the hot path: the canonical request is built over one byte buffer (no intermediate `String`s), which
    /// is what makes it many times faster than botocore.
    public func signed(_ request: HTTPRequest, payload: Payload = .computed, date: Instant) throws(SigV4Error)
        -> HTTPRequest
    {
        let urlBytes = Array(request.url.utf8)
        guard let url = ByteURL(urlBytes) else { throw SigV4Error("not an absolute http(s) URL: \(request.url)") }
        var request = request
        let timestamp = AWSTimestamp(date)
        let payloadHash: String
        switch payload {
        case .precomputed(let hash): payloadHash = hash
        case .unsigned: payloadHash = Self.unsignedPayload
        case .computed: payloadHash = try Self.hash(of: request.body)
        }

        // Signature headers: replace only when present (each HTTPHeaders removal scans every field).
        var present = (authorization: false, date: false, token: false, contentHash: false)
        for (name, _) in request.headers {
            if Self.equalsIgnoringCase(name, "authorization") { present.authorization = true }
            if Self.equalsIgnoringCase(name, "x-amz-date") { present.date = true }
            if Self.equalsIgnoringCase(name, "x-amz-security-token") { present.token = true }
            if Self.equalsIgnoringCase(name, "x-amz-content-sha256") { present.contentHash = true }
        }
        request.headers.reserveCapacity(request.headers.count + 4)  // the signature headers, without regrowing
        if present.authorization { request.headers.remove(name: "Authorization") }
        if present.date { request.headers.remove(name: "X-Amz-Date") }
        request.headers.add(name: "X-Amz-Date", value: timestamp.dateTime)
        if present.token { request.headers.remove(name: "X-Amz-Security-Token") }
        if let token = credentials.sessionToken { request.headers.add(name: "X-Amz-Security-Token", value: token) }
        if isS3 {
            if present.contentHash { request.headers.remove(name: "x-amz-content-sha256") }
            request.headers.add(name: "x-amz-content-sha256", value: payloadHash)
        }

        // Stage 1. Signed fields: host plus every header except the transport's own.
        let path = Self.canonicalPath(urlBytes[url.path])
        let query = Self.canonicalQueryBytes(urlBytes[url.query])
        var fields: [(name: String, value: String)] = [("host", url.hostHeader(urlBytes))]
        fields.reserveCapacity(request.headers.count + 1)
        for field in request.headers where !Self.isUnsignedHeader(field.name) { fields.append(field) }
        Self.sortFields(&fields)
        let canonical = Self.canonicalRequest(method: request.method, path: path, service: service, query: query,
                                              fields: fields, payloadHash: payloadHash)

        // Stages 2 to 4.
        let (signature, cached) = try sign(canonical.request, timestamp: timestamp)
        var authorization = cached.authorizationPrefix
        authorization.reserveCapacity(authorization.count + canonical.signedHeaders.count + 80)
        authorization.append(contentsOf: canonical.signedHeaders)
        authorization.append(contentsOf: ", Signature=".utf8)
        Hex.append(signature, to: &authorization)
        request.headers.add(name: "Authorization", value: String(decoding: authorization, as: UTF8.self))

        // Send what was signed: rebuild the URL only when normalization changed it.
        if !urlBytes[url.path].elementsEqual(path) || !urlBytes[url.query].elementsEqual(query) {
            var rebuilt = Array(urlBytes[..<url.path.lowerBound])
            rebuilt.append(contentsOf: path)
            if !query.isEmpty {
                rebuilt.append(UInt8(ascii: "?"))
                rebuilt.append(contentsOf: query)
            }
            request.url = String(decoding: rebuilt, as: UTF8.self)
        }
        return request
    }

    /// A presigned URL (query-string authentication) valid for `expiresInSeconds` (1 s … 7 days) from `date`.
    ///
    /// Only `host` is signed, plus any `signedHeaders` the user of the URL must send verbatim. For S3 the payload is
    /// `UNSIGNED-PAYLOAD`. See https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    public func presignedURL(
        method: String = "GET", url: String, expiresInSeconds: Int, date: Instant,
        signedHeaders extraHeaders: [(String, String)] = []
    ) throws(SigV4Error) -> String {
        guard (1...604_800).contains(expiresInSeconds) else {
            throw SigV4Error("expiresInSeconds must be 1…604800 (7 days), got \(expiresInSeconds)")
        }
        let urlBytes = Array(url.utf8)
        guard let parts = ByteURL(urlBytes) else { throw SigV4Error("not an absolute http(s) URL: \(url)") }
        let timestamp = AWSTimestamp(date)
        let scope = Self.credentialScope(date: timestamp.date, region: region, service: service)
        var fields: [(name: String, value: String)] = [("host", parts.hostHeader(urlBytes))]
        fields.append(contentsOf: extraHeaders.map { (name: $0.0, value: $0.1) })
        Self.sortFields(&fields)
        var unused = [UInt8]()
        let signedHeaders = Self.appendCanonicalHeaders(fields, to: &unused)
        var added = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", timestamp.dateTime),
            ("X-Amz-Expires", String(expiresInSeconds)),
            ("X-Amz-SignedHeaders", String(decoding: signedHeaders, as: UTF8.self)),
        ]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        var rawQuery = Array(urlBytes[parts.query])
        if !rawQuery.isEmpty { rawQuery.append(UInt8(ascii: "&")) }
        rawQuery.append(contentsOf: URIEncoding.formEncode(added).utf8)
        let query = Self.canonicalQueryBytes(rawQuery[...])
        let path = Self.canonicalPath(urlBytes[parts.path])
        let canonical = Self.canonicalRequest(method: method, path: path, service: service, query: query,
                                              fields: fields, payloadHash: isS3 ? Self.unsignedPayload
                                                  : Self.emptyPayloadHash)
        let (signature, _) = try sign(canonical.request, timestamp: timestamp)
        var signedURL = Array((parts.isHTTPS ? "https://" : "http://").utf8)
        signedURL.append(contentsOf: urlBytes[parts.authority])
        signedURL.append(contentsOf: path)
        signedURL.append(UInt8(ascii: "?"))
        signedURL.append(contentsOf: query)
        signedURL.append(contentsOf: "&X-Amz-Signature=".utf8)
        Hex.append(signature, to: &signedURL)
        return String(decoding: signedURL, as: UTF8.self)
    }

    // MARK: - Stage 2: string to sign

    /// The credential scope `yyyymmdd/region/service/aws4_request`.
    public static func credentialScope(date: String, region: String, service: String) -> String {
        "\(date)/\(region)/\(service)/aws4_request"
    }

    static let algorithmLine = Array("AWS4-HMAC-SHA256\n".utf8)

    /// Stages 2 to 4 over bytes: the string to sign (`AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex SHA-256 of the
    /// canonical request>`) and its HMAC-SHA256 under the cached signing key, with the cache entry used.
    func sign(_ canonicalRequest: [UInt8], timestamp: AWSTimestamp) throws(SigV4Error)
        -> (signature: [UInt8], entry: SigningKeyCache.Entry)
    {
        let cached = try cachedEntry(date: timestamp.date)
        let canonicalHash = try Self.crypto { () throws(CryptoError) in try SHA256.hash(canonicalRequest) }
        var stringToSign = [UInt8]()
        stringToSign.reserveCapacity(160)
        stringToSign.append(contentsOf: Self.algorithmLine)
        stringToSign.append(contentsOf: timestamp.dateTime.utf8)
        stringToSign.append(0x0a)
        stringToSign.append(contentsOf: cached.scopeLine)
        Hex.append(canonicalHash, to: &stringToSign)
        return (cached.signer.authenticationCode(for: stringToSign), cached)
    }

    // MARK: - Stage 3: signing key

    /// Stage 3: HMAC chain `AWS4<secret>` → date → region → service → `aws4_request`.
    public static func signingKey(secretAccessKey: String, date: String, region: String, service: String)
        throws(SigV4Error) -> [UInt8]
    {
        try crypto { () throws(CryptoError) in
            var key = try HMACSHA256.authenticationCode(for: date, key: Array(("AWS4" + secretAccessKey).utf8))
            key = try HMACSHA256.authenticationCode(for: region, key: key)
            key = try HMACSHA256.authenticationCode(for: service, key: key)
            return try HMACSHA256.authenticationCode(for: "aws4_request", key: key)
        }
    }

    // MARK: - Helpers

    /// The signing key and byte prefixes for `date` (stage 3 runs once per key, date, region and service).
    func cachedEntry(date: String) throws(SigV4Error) -> SigningKeyCache.Entry {
        if let entry = keyCache.entry(credentials: credentials, date: date, region: region, service: service) {
            return entry
        }
        let scope = Self.credentialScope(date: date, region: region, service: service)
        let signingKey = try Self.signingKey(secretAccessKey: credentials.secretAccessKey, date: date, region: region,
                                             service: service)
        let entry = SigningKeyCache.Entry(
            secretAccessKey: credentials.secretAccessKey, signingKey: signingKey, signer: HMACSHA256Key(signingKey),
            scopeLine: Array("\(scope)\n".utf8),
            authorizationPrefix: Array("\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=".utf8))
        keyCache.store(entry, credentials: credentials, date: date, region: region, service: service)
        return entry
    }

    static func hash(of body: HTTPBody) throws(SigV4Error) -> String {
        switch body {
        case .empty:
            return emptyPayloadHash
        case .bytes(let bytes):
            return bytes.isEmpty ? emptyPayloadHash : Hex.encode(try crypto { () throws(CryptoError) in
                try SHA256.hash(bytes)
            })
        case .file(let path, let offset, let length):
            return Hex.encode(try crypto { () throws(CryptoError) in
                try SHA256.hash(filePath: path, offset: offset, length: length)
            })
        }
    }

    static func crypto<R>(_ body: () throws(CryptoError) -> R) throws(SigV4Error) -> R {
        do throws(CryptoError) {
            return try body()
        } catch {
            throw SigV4Error(error.description)
        }
    }
}
