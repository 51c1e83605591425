internal import CFFmpeg

/// An opened media file (video or still image): probe it, sample frames from it, decode its picture.
///
/// **Blocking.** Every method does synchronous I/O and decoding on the calling thread; call it from a thread you own
/// (Munin's worker pool), never from the Swift cooperative pool. Not `Sendable`: one thread at a time; open one
/// `MediaFile` per thread.
public final class MediaFile {
    private let format: FormatContext
    /// What probing found (container header; stream info read from packets only when the header lacks it).
    public let info: MediaInfo

    /// Opens and probes `source`.
    /// - Parameter readsStreamInfo: when the container header lacks stream parameters (raw JPEG/PNG, AVI, MPEG-TS),
    ///   decode a little to fill them in (`avformat_find_stream_info`). Pass false for stills that are decoded right
    ///   away anyway: it saves a full-size decode, and the picture's size comes with the decoded frame.
    public init(source: MediaSource, readsStreamInfo: Bool = true) throws(MediaError) {
        format = try FormatContext(source: source)
        if readsStreamInfo && Self.needsStreamInfo(format) { try format.findStreamInfo() }
        info = Self.describe(format)
    }

    /// Opens, probes and closes `source`. For an MP4 whose header says everything (the usual case), this reads only
    /// the `ftyp`/`moov` boxes wherever they are, through seeks: a few hundred KiB of a large file.
    public static func probe(_ source: MediaSource) throws(MediaError) -> MediaInfo {
        try MediaFile(source: source).info
    }

    /// Bytes read from the input since it was opened.
    public var bytesRead: Int64 { format.bytesRead }

    // MARK: - Frames

    /// Decodes the best video stream (or a still image's single picture) and calls `body` with each sampled frame,
    /// converted to every spec in `outputs`. `body` returns false to stop early.
    ///
    /// Damage is not fatal while frames still come: rejected packets and a premature end are reported in the
    /// returned `SamplingReport`. A file that yields no frame at all because of damage throws `.decode`.
    public func sampleFrames(_ sampling: FrameSampling, outputs: [PictureSpec],
                             _ body: (SampledFrame) throws -> Bool) throws -> SamplingReport
    {
        let input = format.inputName
        if let interval = sampling.interval, !(interval > 0) {
            throw MediaError(.invalidArgument, operation: "sampleFrames",
                             message: "interval must be > 0 seconds (got \(interval))", input: input)
        }
        if let maxFrames = sampling.maxFrames, maxFrames < 1 {
            throw MediaError(.invalidArgument, operation: "sampleFrames",
                             message: "maxFrames must be ≥ 1 (got \(maxFrames))", input: input)
        }
        let streamIndex = av_find_best_stream(format.pointer, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard streamIndex >= 0 else {
            throw MediaError(.noVideoStream, operation: "av_find_best_stream", code: streamIndex,
                             message: "no video or image stream", input: input)
        }
        let stream = format.stream(at: Int(streamIndex))
        let streamInfo = info.streams[Int(streamIndex)]
        // Reduced-resolution decoding only when every output is size-limited (never for full-size outputs).
        let limits = outputs.map(\.maxDimension)
        let reducedSizeLimit = !limits.isEmpty && limits.allSatisfy({ $0 != nil }) ? limits.map { $0! }.max() : nil
        let decoder = try CodecContext.decoder(for: stream, threads: sampling.threads,
                                               keyframesOnly: sampling.keyframesOnly,
                                               reducedSizeLimit: reducedSizeLimit, input: input)
        let normalSkip = sampling.keyframesOnly ? AVDISCARD_NONKEY : AVDISCARD_DEFAULT
        let scalers = outputs.map { Scaler(spec: $0) }
        let packet = try Packet()
        let frame = try Frame()
        let timeBase = stream.pointee.time_base
        let tb = timeBase.den == 0 ? 0 : Double(timeBase.num) / Double(timeBase.den)
        let startTS = stream.pointee.start_time == CFFmpeg_AV_NOPTS_VALUE ? 0 : stream.pointee.start_time
        let frameDuration = streamInfo.frameRate.map { $0 > 0 ? 1 / $0 : 0 } ?? 0
        let lower = sampling.timeRange?.lowerBound ?? 0
        let upper = sampling.timeRange?.upperBound ?? .infinity
        var report = SamplingReport()

        if lower > 0, tb > 0 {
            let target = startTS + Int64(lower / tb)
            if av_seek_frame(format.pointer, streamIndex, target, AVSEEK_FLAG_BACKWARD) < 0 {
                report.warnings.append("seek to \(lower) s failed; decoding from the start")
            }
        }

        var nextTarget: Double = sampling.interval.map { ($0 * (lower / $0).rounded(.up)) } ?? lower
        var delivered = 0
        var lastTime: Double? = nil
        var finished = false
        var readError: Int32 = 0

        // Handles every frame the decoder has ready; returns false once sampling is complete.
        func drain() throws -> Bool {
            while true {
                let code = avcodec_receive_frame(decoder.pointer, frame.pointer)
                if code == CFFmpeg_EAGAIN() || code == CFFmpeg_AVERROR_EOF { return true }
                if code < 0 {
                    report.rejectedPackets += 1
                    return true
                }
                defer { av_frame_unref(frame.pointer) }
                report.framesDecoded += 1
                var pts = frame.pointer.pointee.best_effort_timestamp
                if pts == CFFmpeg_AV_NOPTS_VALUE { pts = frame.pointer.pointee.pts }
                let time = pts == CFFmpeg_AV_NOPTS_VALUE
                    ? Double(report.framesDecoded - 1) * frameDuration
                    : Double(pts - startTS) * tb
                lastTime = time
                let slack = frameDuration / 2
                if time + slack < lower { continue }
                if time >= upper { return false }
                var index = delivered
                if let interval = sampling.interval {
                    if time + slack < nextTarget { continue }
                    index = Int((nextTarget / interval).rounded())
                    while nextTarget <= time + slack { nextTarget += interval }
                }
                var pictures: [Picture] = []
                pictures.reserveCapacity(scalers.count)
                for scaler in scalers {
                    var picture = try scaler.picture(from: frame.pointer, input: input)
                    if sampling.appliesRotation { picture = picture.rotated(clockwiseDegrees: streamInfo.rotation) }
                    pictures.append(picture)
                }
                let isKey = frame.pointer.pointee.key_frame != 0
                delivered += 1
                report.framesDelivered = delivered
                // Full coded size, even when the decoder worked at reduced resolution (lowres).
                var sourceWidth = Int(decoder.pointer.pointee.coded_width), sourceHeight = Int(decoder.pointer.pointee.coded_height)
                if sourceWidth <= 0 || sourceHeight <= 0 {
                    (sourceWidth, sourceHeight) = (Int(frame.pointer.pointee.width), Int(frame.pointer.pointee.height))
                } else {
                    sourceWidth = min(sourceWidth, Int(frame.pointer.pointee.width) << Int(decoder.pointer.pointee.lowres))
                    sourceHeight = min(sourceHeight, Int(frame.pointer.pointee.height) << Int(decoder.pointer.pointee.lowres))
                }
                if sampling.appliesRotation && streamInfo.rotation % 180 == 90 {
                    (sourceWidth, sourceHeight) = (sourceHeight, sourceWidth)
                }
                guard try body(SampledFrame(index: index, time: time, isKeyframe: isKey, pictures: pictures,
                                            sourceWidth: sourceWidth, sourceHeight: sourceHeight)) else {
                    return false
                }
                if let maxFrames = sampling.maxFrames, delivered >= maxFrames { return false }
            }
        }

        reading: while !finished {
            let code = av_read_frame(format.pointer, packet.pointer)
            if code < 0 {
                if code != CFFmpeg_AVERROR_EOF { readError = code }
                break reading
            }
            defer { av_packet_unref(packet.pointer) }
            guard packet.pointer.pointee.stream_index == streamIndex else { continue }
            // A frame that lands before the next sampling target is never delivered: if nothing references it
            // either (a non-reference B-frame), the decoder may skip it. Decoding stays exact for every other frame.
            if sampling.interval != nil, !sampling.keyframesOnly {
                let pts = packet.pointer.pointee.pts
                let skippable = pts != CFFmpeg_AV_NOPTS_VALUE
                    && Double(pts - startTS) * tb + frameDuration / 2 < max(nextTarget, lower)
                decoder.pointer.pointee.skip_frame = skippable ? AVDISCARD_NONREF : normalSkip
            }
            let sent = avcodec_send_packet(decoder.pointer, packet.pointer)
            if sent < 0 && sent != CFFmpeg_EAGAIN() { report.rejectedPackets += 1 }
            if try !drain() { finished = true }
        }
        if !finished {
            // Flush: the decoder may hold delayed frames (B-frames, frame threads).
            _ = avcodec_send_packet(decoder.pointer, nil)
            if try !drain() { finished = true }
        }

        if readError != 0 {
            let where_ = lastTime.map { String(format2: $0) + " s" } ?? "the start"
            report.warnings.append("read error after \(where_): \(MediaError.ffmpegMessage(readError))"
                + (format.readerFailure.map { " (\($0))" } ?? ""))
        }
        if report.rejectedPackets > 0 {
            report.warnings.append("\(report.rejectedPackets) damaged packet" + (report.rejectedPackets == 1 ? "" : "s") + " rejected by the decoder")
        }
        if !finished, streamInfo.kind == .video, let duration = info.duration, duration > 1, upper > duration - 1,
           let lastTime, lastTime < duration - max(1, 3 * frameDuration)
        {
            report.warnings.append("stream ended at \(String(format2: lastTime)) s of \(String(format2: duration)) s: "
                + "file truncated or damaged")
        }
        report.bytesRead = format.bytesRead
        if report.framesDecoded == 0 && (readError != 0 || report.rejectedPackets > 0) {
            throw MediaError(.decode, operation: "avcodec_receive_frame", code: readError != 0 ? readError : nil,
                             message: "no frame could be decoded: " + report.warnings.joined(separator: "; "),
                             input: input)
        }
        return report
    }

    /// Decodes the first picture (a still image, or a video's first frame) to each spec in `outputs`.
    /// Still images are not rotated (EXIF orientation is the caller's business); videos are, per their stream.
    public func decodePicture(outputs: [PictureSpec]) throws -> [Picture] {
        try decodeFirstFrame(outputs: outputs).pictures
    }

    /// Like `decodePicture`, also returning the full source size (upright), which `pictures` may be smaller than.
    public func decodeFirstFrame(outputs: [PictureSpec]) throws -> SampledFrame {
        var result: SampledFrame? = nil
        _ = try sampleFrames(FrameSampling(interval: nil, maxFrames: 1, threads: 1), outputs: outputs) { frame in
            result = frame
            return false
        }
        guard let result else {
            throw MediaError(.decode, operation: "decodePicture", message: "the file holds no decodable picture",
                             input: format.inputName)
        }
        return result
    }

    // MARK: - Probing

    private static func needsStreamInfo(_ format: FormatContext) -> Bool {
        if format.streamCount == 0 { return true }
        for i in 0..<format.streamCount {
            let parameters = format.stream(at: i).pointee.codecpar.pointee
            if parameters.codec_id == AV_CODEC_ID_NONE { return true }
            if parameters.codec_type == AVMEDIA_TYPE_VIDEO && (parameters.width == 0 || parameters.height == 0) {
                return true
            }
        }
        return false
    }

    private static func describe(_ format: FormatContext) -> MediaInfo {
        let context = format.pointer.pointee
        var streams: [StreamInfo] = []
        for i in 0..<format.streamCount {
            let stream = format.stream(at: i)
            let parameters = stream.pointee.codecpar.pointee
            let kind: StreamInfo.Kind
            switch parameters.codec_type {
            case AVMEDIA_TYPE_VIDEO: kind = .video
            case AVMEDIA_TYPE_AUDIO: kind = .audio
            case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
            case AVMEDIA_TYPE_DATA: kind = .data
            case AVMEDIA_TYPE_ATTACHMENT: kind = .attachment
            default: kind = .unknown
            }
            let tags = MediaDictionary.entries(of: stream.pointee.metadata)
            let tb = stream.pointee.time_base
            var duration: Double? = nil
            if stream.pointee.duration != CFFmpeg_AV_NOPTS_VALUE, tb.den != 0 {
                duration = Double(stream.pointee.duration) * Double(tb.num) / Double(tb.den)
            }
            var rate = stream.pointee.avg_frame_rate
            if rate.num == 0 || rate.den == 0 { rate = stream.pointee.r_frame_rate }
            let frameRate: Double? = kind == .video && rate.num > 0 && rate.den > 0
                ? Double(rate.num) / Double(rate.den) : nil
            streams.append(StreamInfo(
                index: i, kind: kind, codecName: String(cString: avcodec_get_name(parameters.codec_id)),
                width: kind == .video ? Int(parameters.width) : nil,
                height: kind == .video ? Int(parameters.height) : nil,
                frameRate: frameRate, duration: duration,
                frameCount: stream.pointee.nb_frames > 0 ? stream.pointee.nb_frames : nil,
                rotation: kind == .video ? rotation(of: stream, tags: tags) : 0, tags: tags))
        }
        var duration: Double? = nil
        if context.duration != CFFmpeg_AV_NOPTS_VALUE && context.duration > 0 {
            duration = Double(context.duration) / Double(CFFmpeg_AV_TIME_BASE)
        } else {
            duration = streams.first { $0.kind == .video }?.duration
        }
        return MediaInfo(
            formatName: context.iformat.map { String(cString: $0.pointee.name) } ?? "unknown",
            duration: duration, bitRate: context.bit_rate > 0 ? context.bit_rate : nil, streams: streams,
            tags: MediaDictionary.entries(of: context.metadata), bytesRead: format.bytesRead)
    }

    /// Clockwise degrees to display upright, from the display matrix side data or the legacy `rotate` tag.
    private static func rotation(of stream: UnsafeMutablePointer<AVStream>, tags: [String: String]) -> Int {
        var size: Int = 0
        var degrees: Double? = nil
        if let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 {
            let angle = matrix.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
            // av_display_rotation_get gives the counter-clockwise angle the matrix applies.
            if angle.isFinite { degrees = -angle }
        } else if let tag = tags["rotate"], let value = Double(tag) {
            degrees = value
        }
        guard let degrees else { return 0 }
        let quarter = Int((degrees / 90).rounded())
        return ((quarter % 4) + 4) % 4 * 90
    }
}

@available(*, unavailable)
extension MediaFile: Sendable {}

extension String {
    /// Seconds with 3 decimals, without Foundation's `String(format:)`.
    init(format2 value: Double) {
        let milli = Int((value * 1000).rounded())
        let sign = milli < 0 ? "-" : ""
        let absolute = abs(milli)
        let fraction = absolute % 1000
        self = "\(sign)\(absolute / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }
}
