/// One stream of a probed file.
public struct StreamInfo: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case video, audio, subtitle, data, attachment, unknown }

    /// The stream's index in the container.
    public var index: Int
    public var kind: Kind
    /// FFmpeg's codec name (`h264`, `mjpeg`, `aac`, …).
    public var codecName: String
    /// Coded size in pixels (before rotation); nil for non-video streams.
    public var width: Int?
    public var height: Int?
    /// Average frame rate (frames per second), nil when the container does not say.
    public var frameRate: Double?
    /// Seconds, nil when unknown.
    public var duration: Double?
    /// Frame count from the container index, nil when unknown.
    public var frameCount: Int64?
    /// Degrees (0, 90, 180, 270) the picture must be turned clockwise to display upright, from the display matrix
    /// (or the legacy `rotate` tag).
    public var rotation: Int
    /// The stream's metadata tags.
    public var tags: [String: String]

    /// Size as displayed, i.e. after `rotation`.
    public var displaySize: (width: Int, height: Int)? {
        guard let width, let height else { return nil }
        return rotation % 180 == 0 ? (width, height) : (height, width)
    }

    public static func == (lhs: StreamInfo, rhs: StreamInfo) -> Bool {
        lhs.index == rhs.index && lhs.kind == rhs.kind && lhs.codecName == rhs.codecName && lhs.width == rhs.width
            && lhs.height == rhs.height && lhs.frameRate == rhs.frameRate && lhs.duration == rhs.duration
            && lhs.frameCount == rhs.frameCount && lhs.rotation == rhs.rotation && lhs.tags == rhs.tags
    }
}

/// What probing a media file found.
public struct MediaInfo: Sendable, Equatable {
    /// FFmpeg's demuxer name(s), e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `avi`, `jpeg_pipe`.
    public var formatName: String
    /// Seconds, nil when unknown (stills, some streams).
    public var duration: Double?
    /// Container bit rate in bits per second, nil when unknown.
    public var bitRate: Int64?
    public var streams: [StreamInfo]
    /// Container metadata tags (`creation_time`, `location`, `make`, `model`, …).
    public var tags: [String: String]
    /// Bytes read from the input to produce this information.
    public var bytesRead: Int64

    /// The first video stream, if any.
    public var videoStream: StreamInfo? { streams.first { $0.kind == .video } }

    /// Container (else video stream) `creation_time` tag as written (MP4/MOV: ISO 8601, UTC by the spec).
    public var creationTime: String? {
        tags["creation_time"] ?? videoStream?.tags["creation_time"]
    }

    /// ISO 6709 location string from MP4/MOV metadata (`+59.3293+018.0686/`), when present.
    public var location: String? {
        tags["location"] ?? tags["com.apple.quicktime.location.ISO6709"] ?? tags["location-eng"]
    }

    /// Resolves "segment `index` of `count`" of this file to a time range `[start, end)` in seconds: the duration cut
    /// into `count` equal parts. The planner never probes; the worker calls this after probing.
    public func timeRange(segment index: Int, of count: Int) throws(MediaError) -> Range<Double> {
        guard count >= 1, index >= 0, index < count else {
            throw MediaError(.invalidArgument, operation: "timeRange(segment:of:)",
                             message: "segment index must be in 0..<count (got \(index) of \(count))")
        }
        guard let duration, duration > 0 else {
            throw MediaError(.invalidArgument, operation: "timeRange(segment:of:)",
                             message: "duration unknown, cannot cut into \(count) segments")
        }
        let start = duration * Double(index) / Double(count)
        // The last segment runs to infinity so the final frame is never lost to rounding.
        let end = index == count - 1 ? Double.infinity : duration * Double(index + 1) / Double(count)
        return start..<end
    }
}

/// How to pick frames from a video.
public struct FrameSampling: Sendable, Equatable {
    /// Seconds between sampled frames (nil: every decoded frame). For each target time k × interval the first frame
    /// at or after it (within half a frame) is taken, so targets never drift and segments never overlap. Default 0.3 s.
    public var interval: Double?
    /// Decode keyframes only (the decoder skips everything else; cheap). Combined with `interval`, a keyframe is
    /// taken at most once per interval.
    public var keyframesOnly: Bool
    /// Stop after this many sampled frames (nil: no limit).
    public var maxFrames: Int?
    /// Only frames whose time (seconds from the stream start) is in this range; nil: the whole stream.
    public var timeRange: Range<Double>?
    /// Turn frames upright according to the stream's rotation. Default true.
    public var appliesRotation: Bool
    /// Decoder threads; 0 lets FFmpeg choose.
    public var threads: Int

    public init(interval: Double? = 0.3, keyframesOnly: Bool = false, maxFrames: Int? = nil,
                timeRange: Range<Double>? = nil, appliesRotation: Bool = true, threads: Int = 0) {
        self.interval = interval
        self.keyframesOnly = keyframesOnly
        self.maxFrames = maxFrames
        self.timeRange = timeRange
        self.appliesRotation = appliesRotation
        self.threads = threads
    }
}

/// One sampled frame, converted to each requested `PictureSpec`.
public struct SampledFrame: Sendable {
    /// With an interval: the target number k (time ≈ k × interval), unique within a file across segments.
    /// Without: the count of frames delivered so far.
    public var index: Int
    /// Seconds from the stream start.
    public var time: Double
    public var isKeyframe: Bool
    /// One picture per requested spec, in the same order.
    public var pictures: [Picture]
    /// The frame's full size as displayed (after rotation when applied), whatever size `pictures` have.
    public var sourceWidth: Int
    public var sourceHeight: Int
}

/// What a sampling pass did: counts and non-fatal problems (damaged packets, early end of a truncated file).
public struct SamplingReport: Sendable, Equatable {
    public var framesDecoded = 0
    public var framesDelivered = 0
    /// Packets the decoder rejected (corrupt data); decoding carried on after them.
    public var rejectedPackets = 0
    /// Human-readable notes on damage, each naming what happened and where.
    public var warnings: [String] = []
    /// Bytes read from the input over the file's lifetime so far.
    public var bytesRead: Int64 = 0
}
