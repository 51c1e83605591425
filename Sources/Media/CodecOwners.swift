internal import CFFmpeg

/// Owns an `AVPacket` (`av_packet_alloc` / `av_packet_free`). Not `Sendable`.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws(MediaError) {
        guard let packet = av_packet_alloc() else {
            throw MediaError(.decode, operation: "av_packet_alloc", message: "out of memory")
        }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}

/// Owns an `AVFrame` (`av_frame_alloc` / `av_frame_free`). Not `Sendable`.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws(MediaError) {
        guard let frame = av_frame_alloc() else {
            throw MediaError(.decode, operation: "av_frame_alloc", message: "out of memory")
        }
        pointer = frame
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }
}

/// Owns an `AVCodecContext`, opened as a decoder for one stream or as a JPEG encoder. Not `Sendable`.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>

    private init(codec: UnsafePointer<AVCodec>, input: String?) throws(MediaError) {
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(.decode, operation: "avcodec_alloc_context3", message: "out of memory", input: input)
        }
        pointer = context
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&context)
    }

    /// A decoder for `stream`.
    /// - Parameters:
    ///   - threads: decoder threads; 0 lets FFmpeg pick (one per core).
    ///   - keyframesOnly: ask the decoder to drop everything but keyframes (`skip_frame = AVDISCARD_NONKEY`).
    ///   - reducedSizeLimit: when set and the decoder can decode at reduced resolution (`lowres`: JPEG/MJPEG can
    ///     decode at 1/2, 1/4, 1/8 by scaling the IDCT), pick the smallest scale whose longer side is still at least
    ///     this many pixels. Much cheaper than decoding full size and scaling down.
    static func decoder(for stream: UnsafeMutablePointer<AVStream>, threads: Int, keyframesOnly: Bool,
                        reducedSizeLimit: Int? = nil, input: String) throws(MediaError) -> CodecContext
    {
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
            throw MediaError(.codecUnavailable, operation: "avcodec_find_decoder",
                             message: "no decoder for codec \(name)", input: input)
        }
        let context = try CodecContext(codec: codec, input: input)
        try MediaError.check(avcodec_parameters_to_context(context.pointer, parameters),
                             "avcodec_parameters_to_context", .decode, input: input)
        context.pointer.pointee.pkt_timebase = stream.pointee.time_base
        context.pointer.pointee.thread_count = Int32(threads)
        if keyframesOnly { context.pointer.pointee.skip_frame = AVDISCARD_NONKEY }
        if let limit = reducedSizeLimit, limit > 0 {
            let longer = Int(max(parameters.pointee.width, parameters.pointee.height))
            var lowres = 0
            while lowres < Int(codec.pointee.max_lowres), longer >> (lowres + 1) >= limit { lowres += 1 }
            context.pointer.pointee.lowres = Int32(lowres)
        }
        try MediaError.check(avcodec_open2(context.pointer, codec, nil), "avcodec_open2", .decode, input: input)
        return context
    }

    /// A baseline JPEG encoder (FFmpeg `mjpeg`, full-range 4:2:0).
    /// - Parameter quality: FFmpeg's qscale, 2 (best) … 31 (worst).
    static func jpegEncoder(width: Int, height: Int, quality: Int) throws(MediaError) -> CodecContext {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw MediaError(.codecUnavailable, operation: "avcodec_find_encoder", message: "no mjpeg encoder")
        }
        let context = try CodecContext(codec: codec, input: nil)
        let c = context.pointer
        c.pointee.width = Int32(width)
        c.pointee.height = Int32(height)
        c.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        c.pointee.time_base = AVRational(num: 1, den: 25)
        c.pointee.flags |= AV_CODEC_FLAG_QSCALE
        c.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
        c.pointee.thread_count = 1
        try MediaError.check(avcodec_open2(c, codec, nil), "avcodec_open2(mjpeg)", .encode, input: nil)
        return context
    }
}

@available(*, unavailable)
extension Packet: Sendable {}
@available(*, unavailable)
extension Frame: Sendable {}
@available(*, unavailable)
extension CodecContext: Sendable {}

/// Owns a `SwsContext` (libswscale) converting decoded frames to one `PictureSpec`. The context is rebuilt only
/// when the source size or pixel format changes (`sws_getCachedContext`). Not `Sendable`.
final class Scaler {
    private var context: OpaquePointer?
    let spec: PictureSpec

    init(spec: PictureSpec) { self.spec = spec }

    deinit { sws_freeContext(context) }

    /// Converts `frame` to a new `Picture` of this scaler's spec. O(output pixels).
    func picture(from frame: UnsafeMutablePointer<AVFrame>, input: String?) throws(MediaError) -> Picture {
        let srcW = Int(frame.pointee.width), srcH = Int(frame.pointee.height)
        let (dstW, dstH) = spec.size(forWidth: srcW, height: srcH)
        let dstFormat = spec.format == .gray8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24
        var srcFormat = AVPixelFormat(rawValue: frame.pointee.format)
        // The JPEG decoder reports the deprecated full-range "J" formats; swscale wants the plain ones.
        switch srcFormat {
        case AV_PIX_FMT_YUVJ420P: srcFormat = AV_PIX_FMT_YUV420P
        case AV_PIX_FMT_YUVJ422P: srcFormat = AV_PIX_FMT_YUV422P
        case AV_PIX_FMT_YUVJ444P: srcFormat = AV_PIX_FMT_YUV444P
        case AV_PIX_FMT_YUVJ440P: srcFormat = AV_PIX_FMT_YUV440P
        default: break
        }
        context = sws_getCachedContext(context, Int32(srcW), Int32(srcH), srcFormat, Int32(dstW), Int32(dstH),
                                       dstFormat, SWS_BILINEAR, nil, nil, nil)
        guard let context else {
            throw MediaError(.scale, operation: "sws_getCachedContext",
                             message: "cannot convert \(srcW)x\(srcH) format \(srcFormat.rawValue)", input: input)
        }
        let stride = dstW * spec.format.channels
        let count = stride * dstH
        var failure: Int32 = 0
        // swscale's SIMD paths may write a few bytes past the last row: allocate slack, expose only `count`.
        let pixels = [UInt8](unsafeUninitializedCapacity: count + 64) { buffer, initialized in
            var dstData: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var dstStride: [Int32] = [Int32(stride), 0, 0, 0]
            let rows = withUnsafePointer(to: &frame.pointee.data) { data in
                data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                    withUnsafePointer(to: &frame.pointee.linesize) { lines in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            sws_scale(context, src, srcStride, 0, Int32(srcH), &dstData, &dstStride)
                        }
                    }
                }
            }
            if rows <= 0 { failure = rows == 0 ? -1 : rows }
            initialized = rows > 0 ? count : 0
        }
        if failure != 0 {
            throw MediaError(.scale, operation: "sws_scale", code: failure, message: "no rows converted", input: input)
        }
        return Picture(width: dstW, height: dstH, format: spec.format, pixels: pixels)
    }
}

@available(*, unavailable)
extension Scaler: Sendable {}
