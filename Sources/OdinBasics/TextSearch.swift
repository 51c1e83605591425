/// Substring search on UTF-8 bytes. The standard library's `contains(_: String)`, `firstRange(of:)` and
/// `split(separator: String)` live in _StringProcessing, which links its regex engine into every Lambda bootstrap
/// (1.26 MB); these cover the ASCII needles the function-linked modules search for.
extension StringProtocol where Index == String.Index, UTF8View.Index == String.Index {
    /// The first occurrence of `needle`'s bytes (the empty needle is found at the start).
    package func firstUTF8Range(of needle: some StringProtocol) -> Range<Index>? {
        let pattern = Array(needle.utf8)
        let bytes = utf8
        guard let first = pattern.first else { return startIndex..<startIndex }
        var start = bytes.startIndex
        while let candidate = bytes[start...].firstIndex(of: first) {
            var index = candidate
            var matched = 0
            while matched < pattern.count, index != bytes.endIndex, bytes[index] == pattern[matched] {
                bytes.formIndex(after: &index)
                matched += 1
            }
            if matched == pattern.count { return candidate..<index }
            start = bytes.index(after: candidate)
        }
        return nil
    }

    package func containsUTF8(_ needle: some StringProtocol) -> Bool { firstUTF8Range(of: needle) != nil }

    /// The pieces between occurrences of a non-empty `separator`, empty ones included.
    package func splitUTF8(separator: some StringProtocol) -> [SubSequence] {
        var pieces: [SubSequence] = []
        var rest = self[...]
        while let range = rest.firstUTF8Range(of: separator), !range.isEmpty {
            pieces.append(self[rest.startIndex..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(self[rest.startIndex..<rest.endIndex])
        return pieces
    }
}
