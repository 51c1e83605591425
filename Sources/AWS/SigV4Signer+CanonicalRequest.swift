import HTTP

// MARK: - Stage 1: canonical request

/// Stage 1 of "Create a signed AWS API request": the canonical request, built once, over bytes, for both signed
/// requests and presigned URLs. The `String` functions below are views of the same byte routines (for tests and
/// documentation), never a second implementation.
extension SigV4Signer {
    /// The canonical URI for an already normalized (strictly encoded) path: used as-is for S3, encoded a second
    /// time for every other service (as the SigV4 rules and botocore do).
    public static func canonicalURI(path: String, service: String) -> String {
        service == "s3" ? path : URIEncoding.encode(path, keepingSlashes: true)
    }

    /// Re-encodes a raw URL path strictly: unreserved characters plain, everything else `%XX` (upper case). Valid
    /// escapes that stand for reserved bytes are kept (so `%2F` stays an escaped slash); a literal `/` stays a
    /// separator. Strictly encoded input comes out unchanged.
    public static func normalizedPath(_ rawPath: String) -> String {
        String(decoding: canonicalPath(Array(rawPath.utf8)[...]), as: UTF8.self)
    }

    /// The canonical query string: every `name=value` pair (a bare `name` counts as `name=`) strictly re-encoded,
    /// sorted by name and then value, joined by `&`. Repeated names are all kept. `+` is taken literally (`%2B`).
    public static func canonicalQueryString(_ rawQuery: String) -> String {
        String(decoding: canonicalQueryBytes(Array(rawQuery.utf8)[...]), as: UTF8.self)
    }

    /// Canonical headers (`name:value\n` for each, names lower-cased and sorted, values trimmed with inner runs of
    /// whitespace collapsed to one space, repeated headers joined by `,`) and the signed-headers list.
    public static func canonicalHeaders(_ headers: [(String, String)]) -> (canonical: String, signed: String) {
        var fields = headers.map { (name: $0.0, value: $0.1) }
        sortFields(&fields)
        var canonical = [UInt8]()
        let signed = appendCanonicalHeaders(fields, to: &canonical)
        return (String(decoding: canonical, as: UTF8.self), String(decoding: signed, as: UTF8.self))
    }

    /// The canonical request: method, canonical URI, canonical query, canonical headers, signed headers and payload
    /// hash, one per line. `fields` must be sorted by `sortFields`; `path` strictly encoded (`canonicalPath`).
    /// - Returns: the request's bytes and the signed-headers list (`host;x-amz-date`).
    static func canonicalRequest(method: String, path: ArraySlice<UInt8>, service: String, query: [UInt8],
                                 fields: [(name: String, value: String)], payloadHash: String)
        -> (request: [UInt8], signedHeaders: [UInt8])
    {
        var canonical = [UInt8]()
        canonical.reserveCapacity(512 + path.count * 2 + query.count + payloadHash.utf8.count)
        for byte in method.utf8 { canonical.append(byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte) }
        canonical.append(0x0a)
        if service == "s3" {
            canonical.append(contentsOf: path)
        } else {
            URIEncoding.append(path, keepingSlashes: true, to: &canonical)
        }
        canonical.append(0x0a)
        canonical.append(contentsOf: query)
        canonical.append(0x0a)
        let signedHeaders = appendCanonicalHeaders(fields, to: &canonical)
        canonical.append(0x0a)
        canonical.append(contentsOf: signedHeaders)
        canonical.append(0x0a)
        canonical.append(contentsOf: payloadHash.utf8)
        return (canonical, signedHeaders)
    }

    /// The path as signed and sent: `/` when empty, the raw path when already strictly encoded (no copy), else its
    /// strict re-encoding.
    static func canonicalPath(_ rawPath: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        rawPath.isEmpty ? [UInt8(ascii: "/")][...]
            : isStrictlyEncoded(rawPath, keepingSlashes: true) ? rawPath
            : normalize(Array(rawPath), keepingSlashes: true)[...]
    }

    /// Sorts header fields by lower-cased name with an insertion sort (a handful of headers) that is stable, so
    /// repeated headers keep their order before they are joined with ','.
    static func sortFields(_ fields: inout [(name: String, value: String)]) {
        for i in 1..<max(fields.count, 1) {
            var j = i
            while j > 0, lowercasedPrecedes(fields[j].name, fields[j - 1].name) {
                fields.swapAt(j, j - 1)
                j -= 1
            }
        }
    }

    /// Appends `name:value\n` per distinct lower-cased name of the sorted `fields` (repeats joined by ',', values
    /// with whitespace collapsed) and returns the signed-headers list.
    static func appendCanonicalHeaders(_ fields: [(name: String, value: String)], to canonical: inout [UInt8])
        -> [UInt8]
    {
        var signedHeaders = [UInt8]()
        signedHeaders.reserveCapacity(128)
        var index = 0
        while index < fields.count {
            let name = fields[index].name
            let nameStart = canonical.count
            appendLowercased(name, to: &canonical)
            if !signedHeaders.isEmpty { signedHeaders.append(UInt8(ascii: ";")) }
            signedHeaders.append(contentsOf: canonical[nameStart...])
            canonical.append(UInt8(ascii: ":"))
            appendCollapsingWhitespace(fields[index].value, to: &canonical)
            index += 1
            while index < fields.count, equalsIgnoringCase(fields[index].name, name) {
                canonical.append(UInt8(ascii: ","))
                appendCollapsingWhitespace(fields[index].value, to: &canonical)
                index += 1
            }
            canonical.append(0x0a)
        }
        return signedHeaders
    }

    /// The canonical query string over raw query bytes (see `canonicalQueryString`).
    static func canonicalQueryBytes(_ rawQuery: ArraySlice<UInt8>) -> [UInt8] {
        guard !rawQuery.isEmpty else { return [] }
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

    // MARK: - Byte helpers (no allocation on the common paths)

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
}
