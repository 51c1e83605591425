#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One kept detection (one species in one frame) on its way to a visit. Strings other than the media path are
/// interned by the condenser (indices into its tables).
struct DetectionEntry {
    var time: Double
    var confidence: Double
    /// Position inside a video (seconds), NaN for stills.
    var frameTime: Double
    /// Index into the condenser's location table, -1 without GPS.
    var location: Int32
    var camera: Int32
    var species: Int32
    var detector: Int32
    /// Sampled frame index inside a video, -1 for stills.
    var frameNumber: Int32
    /// Boxes of this species in the frame (at or above min_confidence).
    var boxes: Int32
    var path: String
    /// The box around all of this species' boxes in the frame, `[x, y, width, height]` relative to the frame
    /// (MegaDetector's convention); NaN when the detector gave none.
    var bbox = SIMD4<Float>(repeating: .nan)
    /// Index into the condenser's table of Stage 1 folders when this detection has a thumbnail there
    /// (`StoreLayout.thumbnailKey`), -1 without one.
    var thumbnailFolder: Int32 = -1
    /// The UTC offset of the camera's local time at this detection, in minutes; `LocalTime.unknown` when the zone
    /// is not known (a video whose camera's zone Munin did not find), `LocalTime.floating` when only the local time is (the time
    /// field then holds the local time written as if UTC).
    var utcOffsetMinutes: Int32 = LocalTime.unknown
}

/// Sorts detections by time with memory bounded by `capacity` entries: an external merge sort.
///
/// Why: visits are built per (site, camera, species) by walking time forwards and closing a visit once the time has
/// moved more than the gap past its last detection, which needs detections in time order. Stage 1 chunk files are
/// ordered per media file but not globally (chunks of one camera can interleave, videos overlap stills), so the
/// condenser buffers up to `capacity` detections, sorts them and spills each sorted run to a temporary file, then
/// merges the runs. Memory is one buffer plus one read buffer per run; a run that fits in memory never touches disk.
final class DetectionSorter {
    private let capacity: Int
    private let directory: String
    private let less: (DetectionEntry, DetectionEntry) -> Bool
    private var buffer: [DetectionEntry] = []
    private var runs: [String] = []
    private(set) var count = 0

    init(capacity: Int, directory: String, less: @escaping (DetectionEntry, DetectionEntry) -> Bool) {
        self.capacity = capacity
        self.directory = directory
        self.less = less
        buffer.reserveCapacity(min(capacity, 1 << 16))
    }

    /// Sorted runs written to disk so far.
    private(set) var spilledRuns = 0

    func append(_ entry: DetectionEntry) throws {
        buffer.append(entry)
        count += 1
        if buffer.count >= capacity { try spill() }
    }

    /// Sorts `buffer` through a compact (time, index) key array, so the large entries are moved once instead of
    /// at every merge step; the full comparator only breaks time ties.
    private func sortBuffer() {
        guard buffer.count > 1 else { return }
        var keys = [(Double, Int32)]()
        keys.reserveCapacity(buffer.count)
        for (i, e) in buffer.enumerated() { keys.append((e.time, Int32(i))) }
        let less = self.less
        buffer.withUnsafeBufferPointer { entries in
            keys.sort { a, b in
                if a.0 != b.0 { return a.0 < b.0 }
                let x = entries[Int(a.1)], y = entries[Int(b.1)]
                if less(x, y) { return true }
                if less(y, x) { return false }
                return a.1 < b.1
            }
        }
        buffer = keys.map { buffer[Int($0.1)] }
    }

    private func spill() throws {
        sortBuffer()
        let path = directory + "/run-\(runs.count).bin"
        let writer = try RunFileWriter(path: path)
        for entry in buffer { try writer.write(entry) }
        try writer.close()
        runs.append(path)
        spilledRuns += 1
        buffer.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with every entry in sorted order; consumes the sorter.
    func drain(_ body: (DetectionEntry) throws -> Void) throws {
        sortBuffer()
        if runs.isEmpty {
            for entry in buffer { try body(entry) }
            buffer = []
            return
        }
        var sources: [any EntrySource] = []
        for path in runs { sources.append(try RunFileReader(path: path)) }
        if !buffer.isEmpty { sources.append(ArraySource(buffer)) }
        buffer = []
        // Binary min-heap of source indices, ordered by each source's current entry (entries are never moved).
        var current: [DetectionEntry?] = []
        for source in sources { current.append(try source.next()) }
        var heap = (0..<sources.count).filter { current[$0] != nil }
        let less = self.less
        func before(_ a: Int, _ b: Int) -> Bool {
            let x = current[a]!, y = current[b]!
            if x.time != y.time { return x.time < y.time }
            return less(x, y) || (!less(y, x) && a < b)
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && before(heap[l], heap[m]) { m = l }
                if r < heap.count && before(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        while let top = heap.first {
            try body(current[top]!)
            current[top] = try sources[top].next()
            if current[top] == nil {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            if !heap.isEmpty { siftDown(0) }
        }
        for path in runs { unlink(path) }
        runs = []
    }
}

protocol EntrySource: AnyObject {
    func next() throws -> DetectionEntry?
}

final class ArraySource: EntrySource {
    private var items: [DetectionEntry]
    private var index = 0
    init(_ items: [DetectionEntry]) { self.items = items }
    func next() throws -> DetectionEntry? {
        guard index < items.count else { return nil }
        defer { index += 1 }
        return items[index]
    }
}

/// Fixed-size header (3 doubles, 6 int32, 4 floats, 2 int32) + path length (UInt32) + path bytes, native byte order
/// (the file never leaves this process).
private let headerSize = 3 * 8 + 6 * 4 + 4 * 4 + 2 * 4 + 4

final class RunFileWriter {
    private let file: UnsafeMutablePointer<FILE>
    private let path: String
    private var scratch = [UInt8](repeating: 0, count: headerSize)
    private var closed = false

    init(path: String) throws {
        guard let file = fopen(path, "wb") else { throw HuginError.io("cannot create \(path): errno \(errno)") }
        self.file = file
        self.path = path
    }

    deinit { if !closed { fclose(file) } }

    func write(_ e: DetectionEntry) throws {
        var path = e.path
        let length = path.utf8.count
        scratch.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: e.time, toByteOffset: 0, as: Double.self)
            raw.storeBytes(of: e.confidence, toByteOffset: 8, as: Double.self)
            raw.storeBytes(of: e.frameTime, toByteOffset: 16, as: Double.self)
            raw.storeBytes(of: e.location, toByteOffset: 24, as: Int32.self)
            raw.storeBytes(of: e.camera, toByteOffset: 28, as: Int32.self)
            raw.storeBytes(of: e.species, toByteOffset: 32, as: Int32.self)
            raw.storeBytes(of: e.detector, toByteOffset: 36, as: Int32.self)
            raw.storeBytes(of: e.frameNumber, toByteOffset: 40, as: Int32.self)
            raw.storeBytes(of: e.boxes, toByteOffset: 44, as: Int32.self)
            for k in 0..<4 { raw.storeBytes(of: e.bbox[k], toByteOffset: 48 + 4 * k, as: Float.self) }
            raw.storeBytes(of: e.thumbnailFolder, toByteOffset: 64, as: Int32.self)
            raw.storeBytes(of: e.utcOffsetMinutes, toByteOffset: 68, as: Int32.self)
            raw.storeBytes(of: UInt32(length), toByteOffset: 72, as: UInt32.self)
        }
        var ok = scratch.withUnsafeBytes { fwrite($0.baseAddress, 1, headerSize, file) == headerSize }
        ok = ok && path.withUTF8 { fwrite($0.baseAddress, 1, length, file) == length }
        guard ok else { throw HuginError.io("cannot write \(self.path) (disk full?)") }
    }

    func close() throws {
        closed = true
        guard fclose(file) == 0 else { throw HuginError.io("cannot close \(path)") }
    }
}

final class RunFileReader: EntrySource {
    private let source: FileSource

    init(path: String) throws {
        source = try FileSource(path: path)
    }

    func next() throws -> DetectionEntry? {
        guard let head = try source.read(headerSize, { base in
            var e = DetectionEntry(time: 0, confidence: 0, frameTime: .nan, location: -1, camera: 0, species: 0,
                                   detector: 0, frameNumber: -1, boxes: 0, path: "")
            e.time = base.loadUnaligned(fromByteOffset: 0, as: Double.self)
            e.confidence = base.loadUnaligned(fromByteOffset: 8, as: Double.self)
            e.frameTime = base.loadUnaligned(fromByteOffset: 16, as: Double.self)
            e.location = base.loadUnaligned(fromByteOffset: 24, as: Int32.self)
            e.camera = base.loadUnaligned(fromByteOffset: 28, as: Int32.self)
            e.species = base.loadUnaligned(fromByteOffset: 32, as: Int32.self)
            e.detector = base.loadUnaligned(fromByteOffset: 36, as: Int32.self)
            e.frameNumber = base.loadUnaligned(fromByteOffset: 40, as: Int32.self)
            e.boxes = base.loadUnaligned(fromByteOffset: 44, as: Int32.self)
            for k in 0..<4 { e.bbox[k] = base.loadUnaligned(fromByteOffset: 48 + 4 * k, as: Float.self) }
            e.thumbnailFolder = base.loadUnaligned(fromByteOffset: 64, as: Int32.self)
            e.utcOffsetMinutes = base.loadUnaligned(fromByteOffset: 68, as: Int32.self)
            return (e, Int(base.loadUnaligned(fromByteOffset: 72, as: UInt32.self)))
        }) else { return nil }
        var e = head.0
        let length = head.1
        guard let path = try source.read(length, { String(decoding: $0, as: UTF8.self) }) else {
            throw HuginError.io("\(source.path) ends inside a record (temporary file damaged)")
        }
        e.path = path
        return e
    }
}
