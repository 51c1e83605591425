internal import CFFmpeg

/// Owns an `AVDictionary` (FFmpeg's option and metadata map). FFmpeg may replace the pointer during a call (it
/// consumes recognised options), so calls take `withPointer`; `deinit` frees whatever is left.
final class MediaDictionary {
    private(set) var pointer: OpaquePointer?

    init(_ entries: [(String, String)] = []) {
        for (key, value) in entries { set(key, value) }
    }

    deinit { av_dict_free(&pointer) }

    func set(_ key: String, _ value: String) {
        // av_dict_set copies key and value (flags 0), so the Swift strings need not outlive the call.
        _ = av_dict_set(&pointer, key, value, 0)
    }

    func withPointer<R>(_ body: (UnsafeMutablePointer<OpaquePointer?>) throws -> R) rethrows -> R {
        try body(&pointer)
    }

    /// Copies an FFmpeg-owned dictionary (stream or container metadata) into Swift. O(entries).
    static func entries(of dictionary: OpaquePointer?) -> [String: String] {
        var result: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let next = av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            if let key = next.pointee.key, let value = next.pointee.value {
                result[String(cString: key)] = String(cString: value)
            }
            entry = next
        }
        return result
    }
}

@available(*, unavailable)
extension MediaDictionary: Sendable {}
