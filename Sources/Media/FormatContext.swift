internal import CFFmpeg

/// The state a custom `AVIOContext` reads through: the caller's reader, a position and a byte counter.
/// FFmpeg calls back with `Unmanaged.passUnretained(state)` as its opaque pointer; `ReaderIO` keeps the state alive
/// in a stored property for as long as the `AVIOContext` exists.
final class ReaderState {
    let reader: RandomAccessReader
    var position: Int64 = 0
    var bytesRead: Int64 = 0
    var requests = 0
    var failure: (any Error)?

    init(reader: RandomAccessReader) { self.reader = reader }
}

/// Owns a custom `AVIOContext` over a `RandomAccessReader`, and the av_malloc'ed buffer FFmpeg reads into (FFmpeg
/// may reallocate it, so `deinit` frees whatever `context.buffer` points at then).
final class ReaderIO {
    let state: ReaderState
    let context: UnsafeMutablePointer<AVIOContext>

    init(reader: RandomAccessReader) throws(MediaError) {
        guard reader.blockSize > 0, reader.size >= 0 else {
            throw MediaError(.invalidArgument, operation: "RandomAccessReader", message:
                "blockSize must be > 0 and size >= 0 (got \(reader.blockSize), \(reader.size))", input: reader.name)
        }
        state = ReaderState(reader: reader)
        guard let buffer = av_malloc(reader.blockSize) else {
            throw MediaError(.io, operation: "av_malloc", message: "out of memory", input: reader.name)
        }
        let opaque = Unmanaged.passUnretained(state).toOpaque()
        guard let context = avio_alloc_context(buffer.assumingMemoryBound(to: UInt8.self), Int32(reader.blockSize),
                                               0, opaque, readerIORead, nil, readerIOSeek)
        else {
            av_free(buffer)
            throw MediaError(.io, operation: "avio_alloc_context", message: "out of memory", input: reader.name)
        }
        self.context = context
    }

    deinit {
        withUnsafeMutablePointer(to: &context.pointee.buffer) { av_freep($0) }
        var pointer: UnsafeMutablePointer<AVIOContext>? = context
        avio_context_free(&pointer)
    }
}

@available(*, unavailable)
extension ReaderIO: Sendable {}

private func readerIORead(_ opaque: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?,
                          _ size: Int32) -> Int32
{
    guard let opaque, let buffer else { return CFFmpeg_AVERROR(EINVAL) }
    let state = Unmanaged<ReaderState>.fromOpaque(opaque).takeUnretainedValue()
    let remaining = state.reader.size - state.position
    if remaining <= 0 { return CFFmpeg_AVERROR_EOF }
    let count = Int(min(Int64(size), remaining))
    do {
        let bytes = try state.reader.read(state.position, count)
        if bytes.isEmpty { return CFFmpeg_AVERROR_EOF }
        let n = min(bytes.count, count)
        bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: n) }
        state.position += Int64(n)
        state.bytesRead += Int64(n)
        state.requests += 1
        return Int32(n)
    } catch {
        state.failure = error
        return CFFmpeg_AVERROR(EIO)
    }
}

private func readerIOSeek(_ opaque: UnsafeMutableRawPointer?, _ offset: Int64, _ whence: Int32) -> Int64 {
    guard let opaque else { return Int64(CFFmpeg_AVERROR(EINVAL)) }
    let state = Unmanaged<ReaderState>.fromOpaque(opaque).takeUnretainedValue()
    if whence & AVSEEK_SIZE != 0 { return state.reader.size }
    let target: Int64
    switch whence & ~AVSEEK_FORCE {
    case SEEK_SET: target = offset
    case SEEK_CUR: target = state.position + offset
    case SEEK_END: target = state.reader.size + offset
    default: return Int64(CFFmpeg_AVERROR(EINVAL))
    }
    guard target >= 0 else { return Int64(CFFmpeg_AVERROR(EINVAL)) }
    state.position = target
    return target
}

/// Owns an opened `AVFormatContext` (demuxer) and, for reader sources, the custom I/O it reads through.
/// Not `Sendable`: one thread at a time. Every call may block on I/O.
final class FormatContext {
    let pointer: UnsafeMutablePointer<AVFormatContext>
    /// Kept alive for as long as the format context reads through it (FFmpeg holds `pb`).
    private let io: ReaderIO?
    /// The input's name for errors (query strings redacted).
    let inputName: String

    init(source: MediaSource) throws(MediaError) {
        _ = FFmpegRuntime.ready
        inputName = source.description
        let options = MediaDictionary()
        var url: String
        var io: ReaderIO? = nil
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        switch source {
        case .file(let path):
            url = "file:" + path
            options.set("protocol_whitelist", "file")
        case .url(let address):
            url = address
            options.set("protocol_whitelist", "file,http,https,tcp,tls,crypto")
        case .reader(let reader):
            let readerIO = try ReaderIO(reader: reader)
            guard let allocated = avformat_alloc_context() else {
                throw MediaError(.open, operation: "avformat_alloc_context", message: "out of memory",
                                 input: inputName)
            }
            allocated.pointee.pb = readerIO.context
            allocated.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
            context = allocated
            io = readerIO
            url = ""
        }
        let code = options.withPointer { avformat_open_input(&context, url, nil, $0) }
        // On failure avformat_open_input frees the context (not a custom pb, which `io` frees).
        if code < 0 || context == nil {
            if let failure = io?.state.failure {
                throw MediaError(.io, operation: "avformat_open_input", code: code,
                                 message: "reader failed: \(failure)", input: inputName)
            }
            throw MediaError(.open, operation: "avformat_open_input", code: code,
                             message: MediaError.ffmpegMessage(code), input: inputName)
        }
        self.pointer = context!
        self.io = io
    }

    deinit {
        var context: UnsafeMutablePointer<AVFormatContext>? = pointer
        avformat_close_input(&context)
    }

    /// Bytes read from the input so far (the reader's count, or FFmpeg's `AVIOContext.bytes_read`).
    var bytesRead: Int64 {
        if let io { return io.state.bytesRead }
        return pointer.pointee.pb?.pointee.bytes_read ?? 0
    }

    /// The reader's failure, if a read callback threw (FFmpeg only sees `EIO`).
    var readerFailure: (any Error)? { io?.state.failure }

    var streamCount: Int { Int(pointer.pointee.nb_streams) }

    func stream(at index: Int) -> UnsafeMutablePointer<AVStream> {
        precondition(index >= 0 && index < streamCount, "stream index out of range")
        return pointer.pointee.streams[index]!
    }

    /// Reads packets to fill in stream parameters the header lacks (AVI, MPEG-TS). Costs reads; MP4/MOV rarely need it.
    func findStreamInfo() throws(MediaError) {
        try MediaError.check(avformat_find_stream_info(pointer, nil), "avformat_find_stream_info", .open,
                             input: inputName)
    }
}

@available(*, unavailable)
extension FormatContext: Sendable {}
