import Compression
import FoundationEssentials
import OdinKit
import Testing

@testable import Hugin

/// A fresh directory store under /tmp, unique per test.
func makeStore(_ name: String = #function) throws -> DirectoryObjectStore {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let root = "/tmp/hugin-tests/\(safe)-\(UInt64.random(in: 0...UInt64.max))"
    return try DirectoryObjectStore(root: root)
}

/// A still or video-frame record with one detection per (label, confidence).
func record(_ path: String, camera: String = "cam01", time: String?, lat: Double? = 59.0, lon: Double? = 18.0,
            _ detections: [(String, Double)], frame: Int? = nil) -> Stage1Record {
    Stage1Record(path: path, cameraID: camera, timestamp: time, frameTime: frame.map(Double.init), frameNumber: frame,
                 frameRate: frame.map { _ in 25 }, latitude: lat, longitude: lon,
                 detections: detections.map { Detection(category: "1", label: $0.0, conf: $0.1,
                                                         bbox: [0.1, 0.2, 0.3, 0.4]) },
                 detector: "motion-v1")
}

/// Writes `runs/<run>/stage1/chunk-<i>.jsonl.gz` files.
func writeChunks(_ store: DirectoryObjectStore, run: String, _ chunks: [[Stage1Record]]) throws {
    let encoder = JSONEncoder()
    for (i, records) in chunks.enumerated() {
        var text: [UInt8] = []
        for r in records {
            text += Array(try encoder.encode(r))
            text.append(0x0A)
        }
        try store.put(StoreLayout.stage1Key(run: run, chunk: i), bytes: try Gzip.compress(text))
    }
}

func readJSON(_ store: DirectoryObjectStore, _ key: String) throws -> Any {
    try JSONDecoder().decode(AnyJSON.self, from: Data(try store.get(key))).value
}

func readText(_ store: DirectoryObjectStore, _ key: String) throws -> String {
    String(decoding: try store.get(key), as: UTF8.self)
}

func iso(_ seconds: Double) -> String { Timestamp.format(seconds) }

/// Minimal untyped JSON for schema checks (FoundationEssentials has no JSONSerialization).
struct AnyJSON: Decodable {
    let value: Any

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [Any] = []
            while !array.isAtEnd { items.append(try array.decode(AnyJSON.self).value) }
            value = items
        } else if let object = try? decoder.container(keyedBy: Key.self) {
            var dict: [String: Any] = [:]
            for key in object.allKeys { dict[key.stringValue] = try object.decode(AnyJSON.self, forKey: key).value }
            value = dict
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { value = NSNullMarker() }
            else if let b = try? single.decode(Bool.self) { value = b }
            else if let d = try? single.decode(Double.self) { value = d }
            else { value = try single.decode(String.self) }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

struct NSNullMarker: Equatable {}

/// CSV rows (no embedded newlines in our test data).
func csvRows(_ text: String) -> [[String]] {
    text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { CSV.split($0.hasSuffix("\r") ? $0.dropLast() : $0) }
}
