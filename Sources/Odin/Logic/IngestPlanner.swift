import Compression
import Events
import JSONCoding
import OdinKit

/// A media object accepted into a run.
public struct MediaObject: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case image, video }
    public var bucket: String
    public var key: String
    public var cameraID: String
    public var size: Int64
    public var kind: Kind
    public init(bucket: String, key: String, cameraID: String, size: Int64, kind: Kind) {
        self.bucket = bucket
        self.key = key
        self.cameraID = cameraID
        self.size = size
        self.kind = kind
    }
}

/// Pure planning: which keys are media, which camera they belong to, and how a run is cut into chunks.
public struct IngestPlanner: Sendable {
    /// Batch's array size limit.
    public static let maxArraySize = 10_000

    public let chunking: Profile.Chunking
    private let images: Set<String>
    private let videos: Set<String>

    public init(chunking: Profile.Chunking) {
        self.chunking = chunking
        images = Set(chunking.imageExtensions)
        videos = Set(chunking.videoExtensions)
    }

    /// Why a key is not processed, or nil when it is media under `raw/<camera>/`.
    public enum Skip: String, Sendable, Equatable, Codable {
        case notUnderRaw = "not under raw/"
        case noCameraFolder = "no camera folder under raw/"
        case notMedia = "not a media extension"
        case folderMarker = "folder marker"
        /// The event names a bucket other than the deployment's (the manifest carries keys of one bucket only).
        case otherBucket = "not in the configured bucket"
    }

    /// Classifies one decoded key.
    public func classify(bucket: String, key: String, size: Int64) -> Result<MediaObject, SkipReason> {
        key.utf8.allSatisfy({ $0 < 0x80 }) ? classifyASCII(bucket: bucket, key: key, size: size)
            : classifyCharacters(bucket: bucket, key: key, size: size)
    }

    /// `classify` over Characters (any key).
    func classifyCharacters(bucket: String, key: String, size: Int64) -> Result<MediaObject, SkipReason> {
        guard key.hasPrefix(StoreLayout.rawPrefix) else { return .failure(SkipReason(key: key, reason: .notUnderRaw)) }
        if key.hasSuffix("/") { return .failure(SkipReason(key: key, reason: .folderMarker)) }
        let rest = key.dropFirst(StoreLayout.rawPrefix.count)
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else {
            return .failure(SkipReason(key: key, reason: .noCameraFolder))
        }
        let camera = String(rest[..<slash])
        let name = rest[rest.index(after: slash)...]
        guard let dot = name.lastIndex(of: "."), !name[name.index(after: dot)...].contains("/") else {
            return .failure(SkipReason(key: key, reason: .notMedia))
        }
        let ext = name[name.index(after: dot)...].lowercased()
        if images.contains(ext) {
            return .success(MediaObject(bucket: bucket, key: key, cameraID: camera, size: size, kind: .image))
        }
        if videos.contains(ext) {
            return .success(MediaObject(bucket: bucket, key: key, cameraID: camera, size: size, kind: .video))
        }
        return .failure(SkipReason(key: key, reason: .notMedia))
    }

    /// `classify` for an ASCII key (nearly all of them), over its bytes: the same rules without Character
    /// segmentation, which dominated ingest's per-object cost.
    func classifyASCII(bucket: String, key: String, size: Int64) -> Result<MediaObject, SkipReason> {
        let bytes = key.utf8
        let prefix = StoreLayout.rawPrefix.utf8
        guard bytes.starts(with: prefix) else { return .failure(SkipReason(key: key, reason: .notUnderRaw)) }
        if bytes.last == UInt8(ascii: "/") { return .failure(SkipReason(key: key, reason: .folderMarker)) }
        let rest = bytes.index(bytes.startIndex, offsetBy: prefix.count)
        guard let slash = bytes[rest...].firstIndex(of: UInt8(ascii: "/")), slash != rest else {
            return .failure(SkipReason(key: key, reason: .noCameraFolder))
        }
        let name = bytes.index(after: slash)
        guard let dot = bytes[name...].lastIndex(of: UInt8(ascii: ".")),
              !bytes[bytes.index(after: dot)...].contains(UInt8(ascii: "/")) else {
            return .failure(SkipReason(key: key, reason: .notMedia))
        }
        let camera = String(key[rest..<slash])
        let ext = String(decoding: bytes[bytes.index(after: dot)...].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 },
                         as: UTF8.self)
        if images.contains(ext) {
            return .success(MediaObject(bucket: bucket, key: key, cameraID: camera, size: size, kind: .image))
        }
        if videos.contains(ext) {
            return .success(MediaObject(bucket: bucket, key: key, cameraID: camera, size: size, kind: .video))
        }
        return .failure(SkipReason(key: key, reason: .notMedia))
    }

    public struct SkipReason: Error, Sendable, Equatable, Codable {
        public var key: String
        public var reason: Skip
    }

    /// Estimated seconds of work for one object (assumptions from the profile).
    public func workSeconds(_ object: MediaObject) -> Double {
        switch object.kind {
        case .image: chunking.secondsPerImage
        case .video: Double(object.size) / chunking.videoBytesPerSecond * chunking.workSecondsPerVideoSecond
        }
    }

    /// Cuts a run into chunks of about `target_minutes` of work: stills (and short videos) packed in key order,
    /// long videos split into K segments (K = ceil(work / target), ≤ max_segments_per_video), one chunk each.
    /// Deterministic: the same objects in any order give the same chunks.
    public func plan(runID: String, objects: [MediaObject]) -> [Chunk] {
        let target = chunking.targetMinutes * 60
        let sorted = objects.sorted { $0.key < $1.key }
        var chunks: [Chunk] = []
        var items: [Chunk.Item] = []
        var work = 0.0
        func flush() {
            guard !items.isEmpty else { return }
            chunks.append(Chunk(runID: runID, index: chunks.count, items: items))
            items = []
            work = 0
        }
        var longVideos: [(MediaObject, Int)] = []
        for object in sorted {
            let seconds = workSeconds(object)
            if object.kind == .video && seconds > target {
                let segments = min(chunking.maxSegmentsPerVideo, Int((seconds / target).rounded(.up)))
                if segments > 1 {
                    longVideos.append((object, segments))
                    continue
                }
            }
            if !items.isEmpty && work + seconds > target { flush() }
            items.append(Chunk.Item(key: object.key, cameraID: object.cameraID, size: object.size))
            work += seconds
        }
        flush()
        for (object, segments) in longVideos {
            for segment in 0..<segments {
                chunks.append(Chunk(runID: runID, index: chunks.count, items: [
                    Chunk.Item(key: object.key, cameraID: object.cameraID, size: object.size,
                               segment: Chunk.Segment(index: segment, count: segments)),
                ]))
            }
        }
        return chunks
    }

    /// The manifest: gzip JSON lines, line i = chunk i.
    public static func manifest(_ chunks: [Chunk]) throws -> [UInt8] {
        var text = ""
        text.reserveCapacity(chunks.reduce(0) { $0 + 64 + $1.items.count * 96 })
        for chunk in chunks {
            chunk.appendJSON(to: &text)
            text += "\n"
        }
        return try Gzip.compress(Array(text.utf8))
    }

    /// Reads a manifest back (gzip JSON lines).
    public static func readManifest(_ bytes: [UInt8]) throws -> [Chunk] {
        let text = try Gzip.decompress(bytes)
        return try text.split(separator: UInt8(ascii: "\n")).map { try JSONCoder.decode(Chunk.self, from: $0) }
    }

    /// Array parts: `[offset, offset + size)` ranges of ≤ 10,000 chunks.
    public static func parts(chunkCount: Int) -> [Range<Int>] {
        stride(from: 0, to: chunkCount, by: maxArraySize).map { $0..<min($0 + maxArraySize, chunkCount) }
    }
}
