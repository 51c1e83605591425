internal import CZlib

/// An error from zlib, with the operation that failed and zlib's own message.
public struct CompressionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The zlib return code (`Z_DATA_ERROR`, `Z_BUF_ERROR`, …).
    public let code: Int32
    /// What we were doing (`"inflate"`, `"deflateInit2"`, …).
    public let operation: String
    /// zlib's `msg`, or a description of the condition.
    public let message: String

    public var description: String { "\(operation) failed (zlib \(code)): \(message)" }
}

/// The container a compressed stream uses.
public enum CompressionFormat: Sendable {
    /// RFC 1952 gzip (header + CRC-32 trailer): `.gz` files, S3 manifests, Stage 1 outputs.
    case gzip
    /// RFC 1951 raw deflate: the payload of a zip entry.
    case rawDeflate
    /// RFC 1950 zlib wrapper.
    case zlib

    var windowBits: Int32 {
        switch self {
        case .gzip: return 15 + 16
        case .rawDeflate: return -15
        case .zlib: return 15
        }
    }
}

/// Owns one `z_stream` set up for deflate. zlib keeps the stream's address, so it lives in allocated memory that never
/// moves; `deinit` ends the stream and frees it.
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var finished = false

    /// - Parameters:
    ///   - format: gzip, raw deflate or zlib framing.
    ///   - level: 0 (store) … 9 (smallest); 6 is zlib's default. Deterministic for a given input and level.
    public init(format: CompressionFormat = .gzip, level: Int32 = 6) throws(CompressionError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = CZlib_deflateInit2(stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY)
        guard code == Z_OK else {
            stream.deallocate()
            throw CompressionError(code: code, operation: "deflateInit2", message: "could not initialise deflate")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input` and appends the output to `output`. Call `finish` once after the last chunk.
    public func compress(_ input: some Collection<UInt8>, into output: inout [UInt8]) throws(CompressionError) {
        try run(input, flush: Z_NO_FLUSH, into: &output)
    }

    /// Flushes what is buffered and writes the trailer.
    public func finish(into output: inout [UInt8]) throws(CompressionError) {
        try run(EmptyCollection<UInt8>(), flush: Z_FINISH, into: &output)
        finished = true
    }

    private func run(_ input: some Collection<UInt8>, flush: Int32, into output: inout [UInt8]) throws(CompressionError) {
        precondition(!finished, "Deflater used after finish")
        let bytes = Array(input)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: CompressionError?
        bytes.withUnsafeBufferPointer { inBuffer in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.pointee.avail_in = UInt32(inBuffer.count)
            defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = UInt32(outBuffer.count)
                    defer { stream.pointee.next_out = nil }
                    let code = deflate(stream, flush)
                    if code != Z_OK && code != Z_STREAM_END && code != Z_BUF_ERROR {
                        failure = CompressionError(code: code, operation: "deflate", message: Self.message(stream))
                    }
                    return outBuffer.count - Int(stream.pointee.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if failure != nil { return }
            } while stream.pointee.avail_out == 0 || stream.pointee.avail_in > 0
        }
        if let failure { throw failure }
    }

    static func message(_ stream: UnsafeMutablePointer<z_stream>) -> String {
        stream.pointee.msg.map { String(cString: $0) } ?? "no message"
    }
}

/// Owns one `z_stream` set up for inflate; see `Deflater` for why the stream is heap-allocated.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    /// True once the end of the compressed stream has been seen.
    public private(set) var isFinished = false

    public init(format: CompressionFormat = .gzip) throws(CompressionError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = CZlib_inflateInit2(stream, format.windowBits)
        guard code == Z_OK else {
            stream.deallocate()
            throw CompressionError(code: code, operation: "inflateInit2", message: "could not initialise inflate")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Decompresses `input`, appending to `output`. Bytes after the end of the stream are ignored.
    public func decompress(_ input: some Collection<UInt8>, into output: inout [UInt8]) throws(CompressionError) {
        let bytes = Array(input)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: CompressionError?
        bytes.withUnsafeBufferPointer { inBuffer in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.pointee.avail_in = UInt32(inBuffer.count)
            defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
            while !isFinished {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = UInt32(outBuffer.count)
                    defer { stream.pointee.next_out = nil }
                    let code = inflate(stream, Z_NO_FLUSH)
                    switch code {
                    case Z_STREAM_END: isFinished = true
                    case Z_OK, Z_BUF_ERROR: break
                    default:
                        failure = CompressionError(code: code, operation: "inflate",
                                                   message: Deflater.message(stream))
                    }
                    return outBuffer.count - Int(stream.pointee.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if failure != nil { return }
                if stream.pointee.avail_in == 0 && produced < chunk.count { break }
            }
        }
        if let failure { throw failure }
    }
}

/// One-shot helpers over `Deflater`/`Inflater`.
public enum Gzip {
    /// Compresses `bytes` into a complete gzip member.
    public static func compress(_ bytes: some Collection<UInt8>, level: Int32 = 6) throws(CompressionError) -> [UInt8] {
        let deflater = try Deflater(format: .gzip, level: level)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 3 + 64)
        try deflater.compress(bytes, into: &out)
        try deflater.finish(into: &out)
        return out
    }

    /// Decompresses a complete gzip stream; a truncated or corrupt stream throws.
    public static func decompress(_ bytes: some Collection<UInt8>) throws(CompressionError) -> [UInt8] {
        let inflater = try Inflater(format: .gzip)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 4)
        try inflater.decompress(bytes, into: &out)
        guard inflater.isFinished else {
            throw CompressionError(code: Z_BUF_ERROR, operation: "inflate",
                                   message: "stream ended early (truncated gzip data)")
        }
        return out
    }
}

/// CRC-32 (the zip and gzip checksum).
public enum CRC32 {
    public static func checksum(_ bytes: some Collection<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { buffer in
            UInt32(crc32(uLong(crc), buffer.baseAddress, uInt(buffer.count)))
        }
    }
}
