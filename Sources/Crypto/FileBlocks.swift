#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file (or a byte range of it) in fixed-size blocks through one reused buffer.
enum FileBlocks {
    static let blockSize = 1 << 20

    static func forEach(
        path: String, offset: Int64, length: Int64?,
        _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> Void
    ) throws(CryptoError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CryptoError(operation: "open", code: 0, message: "\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var position = offset
        var remaining = length ?? Int64.max
        while remaining > 0 {
            let want = Int(min(Int64(blockSize), remaining))
            let got = pread(descriptor, buffer.baseAddress, want, off_t(position))
            if got < 0 {
                if errno == EINTR { continue }
                throw CryptoError(operation: "pread", code: 0, message: "\(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 {
                if length != nil {
                    throw CryptoError(operation: "pread", code: 0,
                                      message: "\(path): file ends before offset \(offset) + length \(length!)")
                }
                break
            }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            position += Int64(got)
            remaining -= Int64(got)
        }
    }
}
