internal import CFFmpeg

/// JPEG encoding through FFmpeg's `mjpeg` encoder (crops, frames handed to external detectors).
public enum JPEG {
    /// Encodes `picture` as a baseline JPEG (4:2:0, full range).
    /// - Parameters:
    ///   - quality: FFmpeg qscale, 2 (best) … 31 (worst); 3 is close to "quality 90" of common libraries.
    ///   - maxDimension: scale down (never up, aspect kept, bilinear) so the longer side is at most this many pixels;
    ///     the scaling happens in the same libswscale pass that converts to YUV (thumbnails).
    /// Blocking, CPU-bound.
    public static func encode(_ picture: Picture, quality: Int = 3, maxDimension: Int? = nil) throws(MediaError)
        -> [UInt8]
    {
        guard (2...31).contains(quality) else {
            throw MediaError(.invalidArgument, operation: "JPEG.encode", message: "quality must be 2…31 (got \(quality))")
        }
        if let maxDimension, maxDimension < 2 {
            throw MediaError(.invalidArgument, operation: "JPEG.encode",
                             message: "maxDimension must be ≥ 2 (got \(maxDimension))")
        }
        let target = PictureSpec(format: picture.format, maxDimension: maxDimension)
            .size(forWidth: picture.width, height: picture.height)
        // 4:2:0 needs even dimensions; drop a trailing odd row/column.
        let width = target.width & ~1, height = target.height & ~1
        guard width >= 2, height >= 2 else {
            throw MediaError(.invalidArgument, operation: "JPEG.encode",
                             message: "picture too small (\(picture.width)x\(picture.height))")
        }
        let encoder = try CodecContext.jpegEncoder(width: width, height: height, quality: quality)
        let frame = try Frame()
        frame.pointer.pointee.width = Int32(width)
        frame.pointer.pointee.height = Int32(height)
        frame.pointer.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        frame.pointer.pointee.quality = encoder.pointer.pointee.global_quality
        try MediaError.check(av_frame_get_buffer(frame.pointer, 0), "av_frame_get_buffer", .encode, input: nil)
        let sourceFormat = picture.format == .gray8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24
        // Unscaled, the source's trailing odd row/column is dropped; scaled, the whole source maps onto the output.
        let scaled = target.width != picture.width || target.height != picture.height
        let sourceWidth = scaled ? picture.width : width, sourceHeight = scaled ? picture.height : height
        guard let sws = sws_getContext(Int32(sourceWidth), Int32(sourceHeight), sourceFormat, Int32(width), Int32(height),
                                       AV_PIX_FMT_YUV420P, SWS_BILINEAR, nil, nil, nil)
        else {
            throw MediaError(.scale, operation: "sws_getContext", message: "cannot convert to YUV 4:2:0")
        }
        defer { sws_freeContext(sws) }
        let rows: Int32 = picture.pixels.withUnsafeBufferPointer { pixels in
            var srcData: [UnsafePointer<UInt8>?] = [pixels.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(picture.width * picture.format.channels), 0, 0, 0]
            return withUnsafePointer(to: &frame.pointer.pointee.data) { data in
                data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                    withUnsafePointer(to: &frame.pointer.pointee.linesize) { lines in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                            sws_scale(sws, &srcData, &srcStride, 0, Int32(sourceHeight), dst, dstStride)
                        }
                    }
                }
            }
        }
        guard rows > 0 else { throw MediaError(.scale, operation: "sws_scale", message: "no rows converted") }
        try MediaError.check(avcodec_send_frame(encoder.pointer, frame.pointer), "avcodec_send_frame", .encode,
                             input: nil)
        _ = avcodec_send_frame(encoder.pointer, nil)
        let packet = try Packet()
        try MediaError.check(avcodec_receive_packet(encoder.pointer, packet.pointer), "avcodec_receive_packet",
                             .encode, input: nil)
        defer { av_packet_unref(packet.pointer) }
        return Array(UnsafeBufferPointer(start: packet.pointer.pointee.data, count: Int(packet.pointer.pointee.size)))
    }
}
