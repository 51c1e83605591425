// The AWS module: the project's own AWS client (SigV4 signing, credentials chain, endpoints, standard-mode retries,
// typed errors and the service calls the pipeline uses) on top of HTTP (libcurl) and Crypto (libcrypto). It imports
// no Foundation (JSON through JSONCoding, dates as OdinBasics.Instant), so Lambda binaries stay small; XML is
// parsed by `XMLPullParser` in this module.

import OdinBasics

/// Percent-encoding as SigV4 defines it ("URI-encode each byte except the unreserved characters A-Z a-z 0-9 - _ . ~",
/// upper-case hex; see https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
public enum URIEncoding {
    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
             UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Encodes every byte of the UTF-8 form of `string` except the unreserved characters (and `/` when
    /// `keepingSlashes`, as for an S3 object key in a path).
    public static func encode(_ string: String, keepingSlashes: Bool = false) -> String {
        var output = [UInt8]()
        output.reserveCapacity(string.utf8.count + 8)
        append(string.utf8, keepingSlashes: keepingSlashes, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    static func append(_ bytes: some Sequence<UInt8>, keepingSlashes: Bool, to output: inout [UInt8]) {
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "%"))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0f)])
            }
        }
    }

    /// Decodes `%XX` sequences (a `%` not followed by two hex digits is kept literally). `+` stays `+`: in the
    /// strict encoding AWS signs, a space is always `%20`. Use `decodeFormComponent` for event keys where `+` is a
    /// space.
    public static func decode(_ string: String) -> String {
        String(decoding: decodeBytes(Array(string.utf8), plusIsSpace: false), as: UTF8.self)
    }

    /// Decodes an `application/x-www-form-urlencoded` component: `+` is a space (as in S3 event notification keys).
    public static func decodeFormComponent(_ string: String) -> String {
        String(decoding: decodeBytes(Array(string.utf8), plusIsSpace: true), as: UTF8.self)
    }

    static func decodeBytes(_ bytes: [UInt8], plusIsSpace: Bool) -> [UInt8] {
        guard bytes.contains(UInt8(ascii: "%")) || (plusIsSpace && bytes.contains(UInt8(ascii: "+"))) else {
            return bytes
        }
        var output = [UInt8]()
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// An `application/x-www-form-urlencoded` body as the SDKs write it for the query protocol: strict encoding,
    /// except that a space becomes `+` (botocore's `urlencode`, which is also what moto re-encodes when it checks
    /// the signature of a form body).
    public static func formBody(_ pairs: [(String, String)]) -> String {
        pairs.map { plusForSpace(encode($0.0)) + "=" + plusForSpace(encode($0.1)) }.joined(separator: "&")
    }

    private static func plusForSpace(_ encoded: String) -> String {
        guard encoded.containsUTF8("%20") else { return encoded }
        return encoded.splitUTF8(separator: "%20").joined(separator: "+")
    }

    /// `name=value&…` with both sides strictly encoded, in the given order (no sorting).
    public static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }
}

/// The parts of an absolute `http(s)://host[:port]/path?query` URL, split without any re-encoding.
public struct URLParts: Sendable, Equatable {
    public var scheme: String
    /// Host and port as they appear in the URL (IPv6 literals keep their brackets).
    public var authority: String
    /// The raw (still percent-encoded) path, at least `/`.
    public var path: String
    /// The raw query without `?`, or empty.
    public var query: String

    public init(scheme: String, authority: String, path: String, query: String) {
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
    }

    /// Splits `url`; nil when it is not an absolute http or https URL.
    public init?(_ url: String) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        scheme = url[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        authority = String(rest[..<authorityEnd])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let remainder = rest[authorityEnd...]
        if let question = remainder.firstIndex(of: "?") {
            path = String(remainder[..<question])
            query = String(remainder[remainder.index(after: question)...])
        } else {
            path = String(remainder)
            query = ""
        }
        if path.isEmpty { path = "/" }
    }

    /// The `Host` header value: the authority without a default port (`:80` for http, `:443` for https).
    public var hostHeader: String {
        let lower = authority.lowercased()
        if scheme == "http", lower.hasSuffix(":80") { return String(lower.dropLast(3)) }
        if scheme == "https", lower.hasSuffix(":443") { return String(lower.dropLast(4)) }
        return lower
    }

    /// The URL put back together.
    public var url: String { "\(scheme)://\(authority)\(path)" + (query.isEmpty ? "" : "?\(query)") }
}
