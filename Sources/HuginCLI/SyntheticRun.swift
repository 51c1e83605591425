// `hugin bench-generate`: writes a synthetic Stage 1 run for scripts/bench/60-hugin.sh (not a product feature).
// Deterministic: the same arguments give the same bytes.
import Compression
import Hugin
import OdinBasics
import OdinKit

struct SyntheticRun {
    var detections: Int
    var cameras: Int
    var chunks: Int
    var seed: UInt64 = 42

    private var generator = SplitMix64(seed: 0)

    init(detections: Int, cameras: Int, chunks: Int) {
        self.detections = detections
        self.cameras = cameras
        self.chunks = chunks
        generator = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { generator.next() }

    mutating func unit() -> Double { generator.unit() }

    /// Cameras at their own places; each camera sees bursts (1–30 frames, 1–20 s apart) about an hour apart, one
    /// detection per frame, species from a fixed list, confidence uniform in [0.3, 1). Chunks hold consecutive
    /// frames of one camera, in time order, as ingest would cut them.
    mutating func write(to store: any ObjectStore, run: String) throws -> Int {
        let species = ["roe_deer", "elk", "wild_boar", "fox", "badger", "lynx", "hare", "red_deer"]
        let perChunk = (detections + chunks - 1) / chunks
        let perCamera = (detections + cameras - 1) / cameras
        var chunk = 0
        var inChunk = 0
        var deflater = try Deflater(format: .gzip, level: 1)
        var out: [UInt8] = []
        var line: [UInt8] = []
        var written = 0
        func flushChunk(_ index: Int, _ deflater: Deflater, _ out: inout [UInt8]) throws {
            try deflater.finish(into: &out)
            try store.put(StoreLayout.stage1Key(run: run, chunk: index), bytes: out)
            out.removeAll(keepingCapacity: true)
        }
        for camera in 0..<cameras {
            let lat = 55.0 + Double(camera % 30) * 0.05, lon = 12.0 + Double(camera / 30) * 0.05
            var t = 1_777_600_000.0
            var n = 0
            let name = "cam" + String(camera)
            while n < perCamera && written < detections {
                t += 600 + unit() * 6600
                let frames = 1 + Int(next() % 30)
                let label = species[Int(next() % UInt64(species.count))]
                for f in 0..<frames where n < perCamera && written < detections {
                    t += f == 0 ? 0 : 1 + Double(next() % 20)
                    let conf = 0.3 + unit() * 0.7
                    line.removeAll(keepingCapacity: true)
                    let text = "{\"path\":\"raw/\(name)/IMG_\(n).JPG\",\"camera_id\":\"\(name)\",\"timestamp\":\""
                        + Timestamp.format(t) + "\",\"latitude\":" + Fixed.trimmed(lat, 6) + ",\"longitude\":"
                        + Fixed.trimmed(lon, 6) + ",\"detections\":[{\"category\":\"1\",\"label\":\"" + label
                        + "\",\"conf\":" + Fixed.trimmed(conf, 3)
                        + ",\"bbox\":[0.1,0.2,0.3,0.4]}],\"detector\":\"synthetic-v1\",\"errors\":[]}\n"
                    line.append(contentsOf: text.utf8)
                    try deflater.compress(line, into: &out)
                    n += 1
                    written += 1
                    inChunk += 1
                    if inChunk == perChunk {
                        try flushChunk(chunk, deflater, &out)
                        deflater = try Deflater(format: .gzip, level: 1)
                        chunk += 1
                        inChunk = 0
                    }
                }
            }
        }
        if inChunk > 0 { try flushChunk(chunk, deflater, &out) }
        return written
    }
}
