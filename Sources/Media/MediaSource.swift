/// Where a media file comes from. The seam between the worker and storage: a local path, a URL FFmpeg opens itself
/// (an S3 presigned URL: FFmpeg's `http` protocol issues ranged GETs when it seeks), or a random-access reader over
/// any byte store (e.g. ranged GETs through the object-store port).
public enum MediaSource: Sendable, CustomStringConvertible {
    /// A local file path. Opened through FFmpeg's `file:` protocol, so a `:` in the name is never taken as a protocol.
    case file(String)
    /// A URL FFmpeg opens itself (`http`, `https`, `file`). Query strings are redacted from errors.
    case url(String)
    /// A random-access byte reader; FFmpeg reads through a custom `AVIOContext` that calls it.
    case reader(RandomAccessReader)

    public var description: String {
        switch self {
        case .file(let path): return path
        case .url(let url): return redactedInput(url)
        case .reader(let reader): return reader.name
        }
    }
}

/// A random-access view of one object: its size and a closure that returns `count` bytes from `offset`. The closure
/// is called from the thread that decodes (blocking); it may return fewer bytes than asked only at the end.
public struct RandomAccessReader: Sendable {
    /// A name for errors and logs (an object key, never a signed URL).
    public var name: String
    /// The total size in bytes.
    public var size: Int64
    /// How many bytes FFmpeg asks for per call (the `AVIOContext` buffer size). Larger means fewer requests to a
    /// remote store; smaller means less over-read when probing. Default 64 KiB.
    public var blockSize: Int
    /// Reads bytes `offset ..< offset + count` (clamped to the size by the caller).
    public var read: @Sendable (_ offset: Int64, _ count: Int) throws -> [UInt8]

    public init(name: String, size: Int64, blockSize: Int = 64 * 1024,
                read: @escaping @Sendable (_ offset: Int64, _ count: Int) throws -> [UInt8]) {
        self.name = name
        self.size = size
        self.blockSize = blockSize
        self.read = read
    }
}
