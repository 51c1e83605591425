import Crypto
import FoundationEssentials
import HTTP
import OdinBasics
import Synchronization

/// A SigV4 signing failure (a malformed URL, or libcrypto failing underneath).
public struct SigV4Error: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { "SigV4: \(message)" }
    public init(_ message: String) { self.message = message }
}

/// AWS Signature Version 4 as a pure value: credentials, region and signing name in, signed requests and presigned
/// URLs out. The time is always a parameter (`date:`), so results are reproducible.
///
/// The stage functions are named after the steps of AWS's "Create a signed AWS API request" page
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
/// 1. `canonicalRequest` (with `canonicalURI`, `canonicalQueryString`, `canonicalHeaders`),
/// 2. `stringToSign` (with `credentialScope`), 3. `signingKey`, 4. `signature`.
///
/// S3 specifics (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): the path is
/// encoded once, not twice; every request carries `x-amz-content-sha256`, which may be `UNSIGNED-PAYLOAD`.
///
/// The signer sends exactly what it signs: `signed(_:)` rewrites the request URL with the canonical path and the
/// canonical (sorted, strictly percent-encoded) query string.
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
    /// This is the hot path: it builds the same canonical request as the stage functions below, but over one byte
    /// buffer (no intermediate `String`s), which is what makes it many times faster than botocore.
    public func signed(_ request: HTTPRequest, payload: Payload = .computed, date: Date) throws(SigV4Error)
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

        // Stage 1 over bytes.
        let rawPath = urlBytes[url.path]
        let path: ArraySlice<UInt8> = rawPath.isEmpty ? [UInt8(ascii: "/")][...]
            : Self.isStrictlyEncoded(rawPath, keepingSlashes: true) ? rawPath
            : Self.normalize(Array(rawPath), keepingSlashes: true)[...]
        let query = url.query.isEmpty ? [] : Self.canonicalQueryBytes(urlBytes[url.query])
        // Signed fields: host plus every header except the transport's own, sorted by lower-cased name with an
        // insertion sort (a handful of headers) that is stable, so repeated headers keep their order before they
        // are joined with ','.
        var fields: [(name: String, value: String)] = [("host", url.hostHeader(urlBytes))]
        fields.reserveCapacity(request.headers.count + 1)
        for field in request.headers where !Self.isUnsignedHeader(field.name) { fields.append(field) }
        for i in 1..<max(fields.count, 1) {
            var j = i
            while j > 0, Self.lowercasedPrecedes(fields[j].name, fields[j - 1].name) {
                fields.swapAt(j, j - 1)
                j -= 1
            }
        }
        var canonical = [UInt8]()
        canonical.reserveCapacity(512 + urlBytes.count * 2 + payloadHash.utf8.count)
        for byte in request.method.utf8 { canonical.append(byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte) }
        canonical.append(0x0a)
        if isS3 {
            canonical.append(contentsOf: path)
        } else {
            URIEncoding.append(path, keepingSlashes: true, to: &canonical)
        }
        canonical.append(0x0a)
        canonical.append(contentsOf: query)
        canonical.append(0x0a)
        var signedHeaders = [UInt8]()
        signedHeaders.reserveCapacity(128)
        var index = 0
        while index < fields.count {
            let name = fields[index].name
            let nameStart = canonical.count
            Self.appendLowercased(name, to: &canonical)
            if !signedHeaders.isEmpty { signedHeaders.append(UInt8(ascii: ";")) }
            signedHeaders.append(contentsOf: canonical[nameStart...])
            canonical.append(UInt8(ascii: ":"))
            Self.appendCollapsingWhitespace(fields[index].value, to: &canonical)
            index += 1
            while index < fields.count, Self.equalsIgnoringCase(fields[index].name, name) {
                canonical.append(UInt8(ascii: ","))
                Self.appendCollapsingWhitespace(fields[index].value, to: &canonical)
                index += 1
            }
            canonical.append(0x0a)
        }
        canonical.append(0x0a)
        canonical.append(contentsOf: signedHeaders)
        canonical.append(0x0a)
        canonical.append(contentsOf: payloadHash.utf8)

        // Stage 2.
        let cached = try cachedEntry(date: timestamp.date)
        let canonicalHash = try Self.crypto { () throws(CryptoError) in try SHA256.hash(canonical) }
        var stringToSign = [UInt8]()
        stringToSign.reserveCapacity(160)
        stringToSign.append(contentsOf: Self.algorithmLine)
        stringToSign.append(contentsOf: timestamp.dateTime.utf8)
        stringToSign.append(0x0a)
        stringToSign.append(contentsOf: cached.scopeLine)
        Hex.append(canonicalHash, to: &stringToSign)

        // Stages 3 and 4 (the signing key's HMAC schedule is cached with it).
        let signature = cached.signer.authenticationCode(for: stringToSign)
        var authorization = cached.authorizationPrefix
        authorization.reserveCapacity(authorization.count + signedHeaders.count + 80)
        authorization.append(contentsOf: signedHeaders)
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
        method: String = "GET", url: String, expiresInSeconds: Int, date: Date,
        signedHeaders extraHeaders: [(String, String)] = []
    ) throws(SigV4Error) -> String {
        guard (1...604_800).contains(expiresInSeconds) else {
            throw SigV4Error("expiresInSeconds must be 1…604800 (7 days), got \(expiresInSeconds)")
        }
        guard let parts = URLParts(url) else { throw SigV4Error("not an absolute http(s) URL: \(url)") }
        let timestamp = AWSTimestamp(date)
        let scope = Self.credentialScope(date: timestamp.date, region: region, service: service)
        var headerPairs: [(String, String)] = [("host", parts.hostHeader)]
        headerPairs.append(contentsOf: extraHeaders)
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headerPairs)
        var query = parts.query
        var added = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", timestamp.dateTime),
            ("X-Amz-Expires", String(expiresInSeconds)),
            ("X-Amz-SignedHeaders", signedHeaders),
        ]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        let addedQuery = URIEncoding.formEncode(added)
        query = query.isEmpty ? addedQuery : query + "&" + addedQuery
        let canonicalQuery = Self.canonicalQueryString(query)
        let path = Self.normalizedPath(parts.path)
        let canonicalRequest = Self.canonicalRequest(
            method: method.uppercased(), canonicalURI: Self.canonicalURI(path: path, service: service),
            canonicalQuery: canonicalQuery, canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders,
            payloadHash: isS3 ? Self.unsignedPayload : Self.emptyPayloadHash)
        let stringToSign = try Self.stringToSign(timestamp: timestamp.dateTime, scope: scope,
                                                 canonicalRequest: canonicalRequest)
        let signature = try Self.signature(signingKey: cachedSigningKey(date: timestamp.date),
                                           stringToSign: stringToSign)
        return URLParts(scheme: parts.scheme, authority: parts.authority, path: path,
                        query: canonicalQuery + "&X-Amz-Signature=" + signature).url
    }

    // MARK: - Stage 1: canonical request

    /// Stage 1: the canonical request, lines joined by `\n`.
    public static func canonicalRequest(
        method: String, canonicalURI: String, canonicalQuery: String, canonicalHeaders: String,
        signedHeaders: String, payloadHash: String
    ) -> String {
        "\(method)\n\(canonicalURI)\n\(canonicalQuery)\n\(canonicalHeaders)\n\(signedHeaders)\n\(payloadHash)"
    }

    /// The canonical URI for an already normalized (strictly encoded) path: used as-is for S3, encoded a second
    /// time for every other service (as the SigV4 rules and botocore do).
    public static func canonicalURI(path: String, service: String) -> String {
        service == "s3" ? path : URIEncoding.encode(path, keepingSlashes: true)
    }

    /// Re-encodes a raw URL path strictly: unreserved characters plain, everything else `%XX` (upper case). Valid
    /// escapes that stand for reserved bytes are kept (so `%2F` stays an escaped slash); a literal `/` stays a
    /// separator. Strictly encoded input comes out unchanged.
    public static func normalizedPath(_ rawPath: String) -> String {
        let path = rawPath.isEmpty ? "/" : rawPath
        return String(decoding: normalize(Array(path.utf8), keepingSlashes: true), as: UTF8.self)
    }

    /// The canonical query string: every `name=value` pair (a bare `name` counts as `name=`) strictly re-encoded,
    /// sorted by name and then value, joined by `&`. Repeated names are all kept. `+` is taken literally (`%2B`).
    public static func canonicalQueryString(_ rawQuery: String) -> String {
        guard !rawQuery.isEmpty else { return "" }
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        for component in rawQuery.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let bytes = Array(component)
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                pairs.append((normalize(Array(bytes[..<equals]), keepingSlashes: false),
                              normalize(Array(bytes[(equals + 1)...]), keepingSlashes: false)))
            } else {
                pairs.append((normalize(bytes, keepingSlashes: false), []))
            }
        }
        pairs.sort { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.lexicographicallyPrecedes(rhs.value)
                : lhs.name.lexicographicallyPrecedes(rhs.name)
        }
        var output = [UInt8]()
        for (index, pair) in pairs.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "&")) }
            output.append(contentsOf: pair.name)
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: pair.value)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Canonical headers (`name:value\n` for each, names lower-cased and sorted, values trimmed with inner runs of
    /// whitespace collapsed to one space, repeated headers joined by `,`) and the signed-headers list.
    public static func canonicalHeaders(_ headers: [(String, String)]) -> (canonical: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(collapseWhitespace(value))
        }
        let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var canonical = ""
        for name in names {
            canonical += name + ":" + merged[name]!.joined(separator: ",") + "\n"
        }
        return (canonical, names.joined(separator: ";"))
    }

    // MARK: - Stage 2: string to sign

    /// The credential scope `yyyymmdd/region/service/aws4_request`.
    public static func credentialScope(date: String, region: String, service: String) -> String {
        "\(date)/\(region)/\(service)/aws4_request"
    }

    /// Stage 2: `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex SHA-256 of the canonical request>`.
    public static func stringToSign(timestamp: String, scope: String, canonicalRequest: String) throws(SigV4Error)
        -> String
    {
        "\(algorithm)\n\(timestamp)\n\(scope)\n" + Hex.encode(try crypto { () throws(CryptoError) in
            try SHA256.hash(canonicalRequest)
        })
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

    // MARK: - Stage 4: signature

    /// Stage 4: hex HMAC-SHA256 of the string to sign under the signing key.
    public static func signature(signingKey: [UInt8], stringToSign: String) throws(SigV4Error) -> String {
        Hex.encode(try crypto { () throws(CryptoError) in
            try HMACSHA256.authenticationCode(for: stringToSign, key: signingKey)
        })
    }

    // MARK: - Helpers

    func cachedSigningKey(date: String) throws(SigV4Error) -> [UInt8] { try cachedEntry(date: date).signingKey }

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

    static func collapseWhitespace(_ value: String) -> String {
        var output = [UInt8]()
        output.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r") {
                pendingSpace = !output.isEmpty
            } else {
                if pendingSpace { output.append(UInt8(ascii: " ")) }
                pendingSpace = false
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Strict re-encoding of one URL component (see `normalizedPath`).
    static func normalize(_ bytes: [UInt8], keepingSlashes: Bool) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(bytes.count + 8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
               let decoded = hexPair(bytes[index + 1], bytes[index + 2]) {
                if URIEncoding.isUnreserved(decoded) {
                    output.append(decoded)
                } else {
                    URIEncoding.append(CollectionOfOne(decoded), keepingSlashes: false, to: &output)
                }
                index += 3
            } else {
                URIEncoding.append(CollectionOfOne(byte), keepingSlashes: keepingSlashes, to: &output)
                index += 1
            }
        }
        return output
    }

    private static func hexPair(_ high: UInt8, _ low: UInt8) -> UInt8? {
        func value(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        guard let h = value(high), let l = value(low) else { return nil }
        return h << 4 | l
    }
}

// MARK: - Byte-level helpers for the signing hot path

extension SigV4Signer {
    static let algorithmLine = Array("AWS4-HMAC-SHA256\n".utf8)

    /// Headers never signed, because proxies or the transport change them (botocore excludes the same ones):
    /// authorization, user-agent, expect, x-amzn-trace-id, content-length, transfer-encoding, connection; plus host,
    /// which the signer adds itself from the URL. Compared without allocating.
    static func isUnsignedHeader(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: equalsIgnoringCase(name, "host")
        case 6: equalsIgnoringCase(name, "expect")
        case 10: equalsIgnoringCase(name, "user-agent") || equalsIgnoringCase(name, "connection")
        case 13: equalsIgnoringCase(name, "authorization")
        case 14: equalsIgnoringCase(name, "content-length")
        case 15: equalsIgnoringCase(name, "x-amzn-trace-id")
        case 17: equalsIgnoringCase(name, "transfer-encoding")
        default: false
        }
    }

    @inline(__always)
    static func lowerASCII(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte }

    /// `lhs.lowercased() < rhs.lowercased()` by bytes, without allocating.
    static func lowercasedPrecedes(_ lhs: String, _ rhs: String) -> Bool {
        var left = lhs.utf8.makeIterator(), right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let a?, let b?):
                let (x, y) = (lowerASCII(a), lowerASCII(b))
                if x != y { return x < y }
            }
        }
    }

    /// Case-insensitive equality of two header names, without allocating.
    static func equalsIgnoringCase(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        return zip(lhs.utf8, rhs.utf8).allSatisfy { lowerASCII($0) == lowerASCII($1) }
    }

    static func appendLowercased(_ string: String, to output: inout [UInt8]) {
        var string = string
        string.withUTF8 { bytes in
            if !bytes.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) {
                output.append(contentsOf: bytes)  // already lower case: one copy
                return
            }
            for byte in bytes { output.append(lowerASCII(byte)) }
        }
    }

    static func appendCollapsingWhitespace(_ value: String, to output: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            // Fast path: no tab/CR/LF, no leading, trailing or doubled spaces: already canonical, one copy.
            var clean = true
            var previousWasSpace = true  // a leading space counts as doubled
            for byte in bytes {
                if byte == 0x09 || byte == 0x0a || byte == 0x0d || (byte == 0x20 && previousWasSpace) {
                    clean = false
                    break
                }
                previousWasSpace = byte == 0x20
            }
            if bytes.isEmpty || (clean && !previousWasSpace) {
                output.append(contentsOf: bytes)
                return
            }
            let start = output.count
            var pendingSpace = false
            for byte in bytes {
                if byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d {
                    pendingSpace = output.count > start
                } else {
                    if pendingSpace { output.append(0x20) }
                    pendingSpace = false
                    output.append(byte)
                }
            }
        }
    }

    /// True when `bytes` is already in the strict form `normalize` produces (so no copy is needed).
    static func isStrictlyEncoded(_ bytes: ArraySlice<UInt8>, keepingSlashes: Bool) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if URIEncoding.isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                index += 1
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex {
                let high = bytes[index + 1], low = bytes[index + 2]
                func upperHex(_ b: UInt8) -> UInt8? {
                    switch b {
                    case 0x30...0x39: b - 0x30
                    case 0x41...0x46: b - 0x41 + 10
                    default: nil
                    }
                }
                guard let h = upperHex(high), let l = upperHex(low), !URIEncoding.isUnreserved(h << 4 | l) else {
                    return false
                }
                index += 3
            } else {
                return false
            }
        }
        return true
    }

    static func equalsIgnoringCase(_ string: String, _ lowercase: StaticString) -> Bool {
        guard string.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            var index = 0
            for byte in string.utf8 {
                let lower = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte
                if lower != expected[index] { return false }
                index += 1
            }
            return true
        }
    }


    /// Canonical query string over raw query bytes (see `canonicalQueryString`).
    static func canonicalQueryBytes(_ rawQuery: ArraySlice<UInt8>) -> [UInt8] {
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        for component in rawQuery.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = component.firstIndex(of: UInt8(ascii: "=")) {
                pairs.append((normalize(Array(component[..<equals]), keepingSlashes: false),
                              normalize(Array(component[(equals + 1)...]), keepingSlashes: false)))
            } else {
                pairs.append((normalize(Array(component), keepingSlashes: false), []))
            }
        }
        pairs.sort { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.lexicographicallyPrecedes(rhs.value)
                : lhs.name.lexicographicallyPrecedes(rhs.name)
        }
        var output = [UInt8]()
        output.reserveCapacity(rawQuery.count + 16)
        for (index, pair) in pairs.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "&")) }
            output.append(contentsOf: pair.name)
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: pair.value)
        }
        return output
    }
}

/// An absolute http(s) URL split into byte ranges (no copies, no re-encoding).
struct ByteURL {
    var isHTTPS: Bool
    var authority: Range<Int>
    var path: Range<Int>
    var query: Range<Int>

    init?(_ bytes: [UInt8]) {
        let lower = { (index: Int) -> UInt8 in bytes[index] >= 0x41 && bytes[index] <= 0x5a ? bytes[index] + 0x20 : bytes[index] }
        var schemeEnd: Int
        if bytes.count > 7, lower(0) == 0x68, lower(1) == 0x74, lower(2) == 0x74, lower(3) == 0x70 {
            if bytes[4] == UInt8(ascii: ":") { (isHTTPS, schemeEnd) = (false, 4) }
            else if lower(4) == 0x73, bytes[5] == UInt8(ascii: ":") { (isHTTPS, schemeEnd) = (true, 5) }
            else { return nil }
        } else {
            return nil
        }
        guard schemeEnd + 2 < bytes.count, bytes[schemeEnd + 1] == UInt8(ascii: "/"),
              bytes[schemeEnd + 2] == UInt8(ascii: "/") else { return nil }
        schemeEnd += 3
        var end = bytes.count
        if let hash = bytes[schemeEnd...].firstIndex(of: UInt8(ascii: "#")) { end = hash }
        let authorityEnd = bytes[schemeEnd..<end].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? end
        guard authorityEnd > schemeEnd, !bytes[schemeEnd..<authorityEnd].contains(UInt8(ascii: "@")) else { return nil }
        authority = schemeEnd..<authorityEnd
        if let question = bytes[authorityEnd..<end].firstIndex(of: UInt8(ascii: "?")) {
            path = authorityEnd..<question
            query = (question + 1)..<end
        } else {
            path = authorityEnd..<end
            query = end..<end
        }
        // An empty path is signed (and sent) as "/": the signer sees the empty range and rebuilds the URL.
    }

    /// The Host header value: lower-cased authority without the scheme's default port.
    func hostHeader(_ bytes: [UInt8]) -> String {
        let defaultPort: StaticString = isHTTPS ? ":443" : ":80"
        var end = authority.upperBound
        let portLength = defaultPort.utf8CodeUnitCount
        if authority.count > portLength,
           UnsafeBufferPointer(start: defaultPort.utf8Start, count: portLength).elementsEqual(bytes[(end - portLength)..<end]) {
            end -= portLength
        }
        return String(unsafeUninitializedCapacity: end - authority.lowerBound) { host in
            var position = 0
            for index in authority.lowerBound..<end {
                let byte = bytes[index]
                host[position] = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte
                position += 1
            }
            return position
        }
    }
}

/// Derived SigV4 signing keys, cached per access key, date, region and service (a key is valid for one UTC day),
/// with the byte prefixes of the string to sign and the `Authorization` value that depend on the same inputs.
/// Thread-safe; bounded (past 64 entries, e.g. after many key rotations, the oldest is dropped).
public final class SigningKeyCache: Sendable {
    /// The process-wide cache used by default.
    public static let shared = SigningKeyCache()

    struct Key: Hashable {
        var accessKeyID: String
        var date: String
        var region: String
        var service: String
    }

    struct Entry {
        var secretAccessKey: String
        var signingKey: [UInt8]
        /// HMAC-SHA256 under `signingKey`, key schedule done.
        var signer: HMACSHA256Key
        /// `<scope>\n` (after the algorithm and timestamp lines of the string to sign).
        var scopeLine: [UInt8]
        /// `AWS4-HMAC-SHA256 Credential=<key ID>/<scope>, SignedHeaders=`.
        var authorizationPrefix: [UInt8]
    }

    /// Most recently stored last. A process signs with a handful of keys (services × days), so a linear scan with
    /// string equality (short strings compare inline) beats hashing four strings on every request.
    private let entries = Mutex<[(key: Key, entry: Entry)]>([])

    public init() {}

    func entry(credentials: AWSCredentials, date: String, region: String, service: String) -> Entry? {
        entries.withLock { entries in
            for index in entries.indices.reversed() {
                let key = entries[index].key
                if key.service == service && key.date == date && key.region == region
                    && key.accessKeyID == credentials.accessKeyID {
                    let entry = entries[index].entry
                    return entry.secretAccessKey == credentials.secretAccessKey ? entry : nil
                }
            }
            return nil
        }
    }

    func key(credentials: AWSCredentials, date: String, region: String, service: String) -> [UInt8]? {
        entry(credentials: credentials, date: date, region: region, service: service)?.signingKey
    }

    func store(_ entry: Entry, credentials: AWSCredentials, date: String, region: String, service: String) {
        let key = Key(accessKeyID: credentials.accessKeyID, date: date, region: region, service: service)
        entries.withLock { entries in
            entries.removeAll { $0.key == key }
            if entries.count >= 64 { entries.removeFirst() }
            entries.append((key, entry))
        }
    }

    /// Number of cached keys (for tests).
    package var count: Int { entries.withLock { $0.count } }
}

/// A UTC instant formatted the two ways SigV4 needs: `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd`.
public struct AWSTimestamp: Sendable, Equatable {
    public let dateTime: String
    public let date: String

    public init(_ instant: Date) {
        let civil = CivilTime(secondsSince1970: Int64(instant.timeIntervalSince1970.rounded(.down)))
        // Written straight into the strings' storage (signing formats one per request).
        func put(_ value: Int, at offset: Int, width: Int, into bytes: UnsafeMutableBufferPointer<UInt8>) {
            var value = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[position] = UInt8(0x30 + value % 10)
                value /= 10
            }
        }
        dateTime = String(unsafeUninitializedCapacity: 16) { bytes in
            put(civil.year, at: 0, width: 4, into: bytes)
            put(civil.month, at: 4, width: 2, into: bytes)
            put(civil.day, at: 6, width: 2, into: bytes)
            bytes[8] = UInt8(ascii: "T")
            put(civil.hour, at: 9, width: 2, into: bytes)
            put(civil.minute, at: 11, width: 2, into: bytes)
            put(civil.second, at: 13, width: 2, into: bytes)
            bytes[15] = UInt8(ascii: "Z")
            return 16
        }
        date = String(unsafeUninitializedCapacity: 8) { bytes in
            put(civil.year, at: 0, width: 4, into: bytes)
            put(civil.month, at: 4, width: 2, into: bytes)
            put(civil.day, at: 6, width: 2, into: bytes)
            return 8
        }
    }
}
