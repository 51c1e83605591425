import FoundationEssentials
import Media
import OdinKit
import Synchronization

/// Bytes of one media object, ready for FFmpeg.
public struct LocatedMedia: Sendable {
    public var source: MediaSource
    /// A local file holding the object, when there is one (EXIF is read from it; external detectors get it).
    public var localPath: String?
    /// Removes whatever locating created (a downloaded copy). Called once the file is processed.
    public var cleanup: @Sendable () -> Void

    public init(source: MediaSource, localPath: String?, cleanup: @escaping @Sendable () -> Void = {}) {
        self.source = source
        self.localPath = localPath
        self.cleanup = cleanup
    }
}

/// The seam between the worker and storage: turns an object key into something FFmpeg can read.
/// The lead plugs S3 in here (presigned URLs through `urls`, or ranged GETs through `rangedReads`).
public struct MediaLocator: Sendable {
    /// `(key, size from the manifest, scratch folder) → media`. Blocking.
    public var locate: @Sendable (_ key: String, _ size: Int64, _ scratchDirectory: String) throws -> LocatedMedia

    public init(locate: @escaping @Sendable (_ key: String, _ size: Int64, _ scratchDirectory: String) throws
        -> LocatedMedia)
    {
        self.locate = locate
    }

    /// Local stores are read in place; any other store is downloaded into the scratch folder first (and the copy
    /// removed after processing).
    public static func objectStore(_ store: any ObjectStore) -> MediaLocator {
        MediaLocator { key, _, scratch in
            if let directory = store as? DirectoryObjectStore {
                let path = try directory.path(for: key)
                return LocatedMedia(source: .file(path), localPath: path)
            }
            let name = key.split(separator: "/").last.map(String.init) ?? "media"
            let path = scratch + "/dl-\(UInt64.random(in: 0...UInt64.max))-" + name
            try store.download(key, to: path)
            return LocatedMedia(source: .file(path), localPath: path, cleanup: { _ = try? FileManager.default
                .removeItem(atPath: path) })
        }
    }

    /// Reads through ranged GETs on the store (no local copy). Requests start at `blockSize` bytes and double while
    /// FFmpeg reads sequentially, up to `maxRequestSize` (a seek starts small again): probing a large MP4 fetches
    /// only its header boxes, and decoding it takes few requests.
    public static func rangedReads(_ store: any ObjectStore, blockSize: Int = 64 * 1024,
                                   maxRequestSize: Int = 8 << 20) -> MediaLocator
    {
        MediaLocator { key, size, _ in
            var total = size
            if total <= 0 { total = try store.head(key)?.size ?? 0 }
            let readAhead = ReadAhead(size: total, minimum: blockSize, maximum: max(blockSize, maxRequestSize)) {
                try store.get(key, range: $0)
            }
            let reader = RandomAccessReader(name: key, size: total, blockSize: blockSize) { offset, count in
                try readAhead.read(offset: offset, count: count)
            }
            return LocatedMedia(source: .reader(reader), localPath: nil)
        }
    }

    /// FFmpeg opens a URL itself (e.g. an S3 presigned GET URL; FFmpeg's http protocol seeks with Range requests).
    public static func urls(_ makeURL: @escaping @Sendable (_ key: String) throws -> String) -> MediaLocator {
        MediaLocator { key, _, _ in LocatedMedia(source: .url(try makeURL(key)), localPath: nil) }
    }
}

/// One cached block over a ranged-GET function, with a request size that grows on sequential reads.
final class ReadAhead: Sendable {
    private struct State {
        var block: [UInt8] = []
        var start: Int64 = 0
        var window: Int
    }

    private let state: Mutex<State>
    private let size: Int64
    private let minimum: Int
    private let maximum: Int
    private let fetch: @Sendable (Range<Int64>) throws -> [UInt8]

    init(size: Int64, minimum: Int, maximum: Int, fetch: @escaping @Sendable (Range<Int64>) throws -> [UInt8]) {
        self.size = size
        self.minimum = minimum
        self.maximum = maximum
        self.fetch = fetch
        state = Mutex(State(window: minimum))
    }

    func read(offset: Int64, count: Int) throws -> [UInt8] {
        try state.withLock { (s: inout State) throws -> [UInt8] in
            let end = s.start + Int64(s.block.count)
            if offset >= s.start && offset + Int64(count) <= end {
                let from = Int(offset - s.start)
                return Array(s.block[from..<(from + count)])
            }
            s.window = offset == end && !s.block.isEmpty ? min(maximum, s.window * 2) : minimum
            let upper = min(size, offset + Int64(max(count, s.window)))
            guard offset < upper else { return [] }
            s.block = try fetch(offset..<upper)
            s.start = offset
            return Array(s.block.prefix(count))
        }
    }
}
