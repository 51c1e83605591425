#if canImport(Glibc)
import Glibc
#endif

/// Reads a gzip-compressed file of newline-separated records one line at a time, holding only one buffer of
/// compressed input and the current line in memory (Stage 1 chunk files, manifests).
public final class GzipLineReader {
    private let file: UnsafeMutablePointer<FILE>
    private let inflater: Inflater
    private var pending: [UInt8] = []
    private var pendingStart = 0
    /// Compressed input is read and inflated in blocks of this size (one inflate call per block).
    private var input = [UInt8](repeating: 0, count: 256 * 1024)
    private var atEOF = false
    /// The path being read, for error messages.
    public let path: String

    public init(path: String) throws {
        guard let file = fopen(path, "rb") else {
            throw CompressionError(code: -1, operation: "open", message: "cannot open \(path): errno \(errno)")
        }
        self.file = file
        self.path = path
        self.inflater = try Inflater(format: .gzip)
    }

    deinit { fclose(file) }

    /// Calls `body` with the next line without its terminating newline (the bytes are valid only during the call);
    /// returns false, without calling `body`, at the end of the stream. No copy of the line is made.
    public func withNextLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        while true {
            let found: Int? = pending.withUnsafeBufferPointer { all in
                guard pendingStart < all.count,
                      let hit = memchr(all.baseAddress! + pendingStart, 0x0A, all.count - pendingStart) else { return nil }
                return all.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
            if let newline = found {
                let start = pendingStart
                pendingStart = newline + 1
                try pending.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<newline])) }
                if pendingStart > 1 << 18 { pending.removeFirst(pendingStart); pendingStart = 0 }
                return true
            }
            if inflater.isFinished || atEOF {
                if !inflater.isFinished {
                    throw CompressionError(code: -5, operation: "inflate",
                                           message: "\(path): stream ended early (truncated gzip data)")
                }
                guard pendingStart < pending.count else { return false }
                let start = pendingStart
                pendingStart = pending.count
                try pending.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start...])) }
                return true
            }
            let count = input.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { atEOF = true; continue }
            try inflater.decompress(input[0..<count], into: &pending)
        }
    }

    /// The next line without its terminating newline, or nil at the end of the stream.
    public func nextLine() throws -> [UInt8]? {
        var line: [UInt8]? = nil
        _ = try withNextLine { line = Array($0) }
        return line
    }
}
