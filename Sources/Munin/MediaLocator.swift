import FoundationEssentials
import Media
import OdinKit

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

    /// Reads through ranged GETs on the store (no local copy): FFmpeg's custom I/O asks for `blockSize` bytes at a
    /// time. Probing a large MP4 this way reads only its header boxes.
    public static func rangedReads(_ store: any ObjectStore, blockSize: Int = 4 << 20) -> MediaLocator {
        MediaLocator { key, size, _ in
            var total = size
            if total <= 0 { total = try store.head(key)?.size ?? 0 }
            let reader = RandomAccessReader(name: key, size: total, blockSize: blockSize) { offset, count in
                try store.get(key, range: offset..<(offset + Int64(count)))
            }
            return LocatedMedia(source: .reader(reader), localPath: nil)
        }
    }

    /// FFmpeg opens a URL itself (e.g. an S3 presigned GET URL; FFmpeg's http protocol seeks with Range requests).
    public static func urls(_ makeURL: @escaping @Sendable (_ key: String) throws -> String) -> MediaLocator {
        MediaLocator { key, _, _ in LocatedMedia(source: .url(try makeURL(key)), localPath: nil) }
    }
}
