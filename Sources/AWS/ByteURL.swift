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
