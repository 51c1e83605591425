import Media
import OdinKit

/// `motion-v1`: the built-in, model-free detector. It finds *change*, not animals.
///
/// Method: frames are compared with a background (the per-pixel median of the sequence's first ≤ 15 frames, then a
/// running average updated by every frame, slowly where motion is found). Pixels whose difference exceeds
/// `threshold` form a mask, which is dilated once (3×3) and split into 8-connected regions; each region larger than
/// `minimumAreaFraction` of the picture becomes a box. The score is the region's mean of min(1, difference /
/// (4 × threshold)): a contrast measure in 0…1, **not** a probability of an animal.
///
/// Limits (also in the README): a single still has nothing to compare with and yields nothing; an animal that does
/// not move is not found; wind in vegetation, rain, snow, camera shake and the IR switch produce boxes (a frame where
/// more than half the pixels change resets the background and reports nothing); shadows and reflections move with
/// their animal and can enlarge or split its box.
public struct MotionDetector: Detector {
    public struct Configuration: Sendable, Equatable {
        /// Grey-level difference (0…255) above which a pixel counts as changed.
        public var threshold: Int = 25
        /// Background learning rate per frame for unchanged pixels (changed pixels learn at a tenth of it).
        public var learningRate: Double = 0.05
        /// Smallest region kept, as a fraction of the analysed picture's pixels.
        public var minimumAreaFraction: Double = 0.0005
        /// Fraction of changed pixels above which the frame counts as a scene change (lighting, IR switch).
        public var sceneChangeFraction: Double = 0.5
        /// Frames whose median seeds the background (the first ones of the sequence available in the first batch).
        /// More frames keep a slow or large mover out of the background.
        public var seedFrames: Int = 15

        public init() {}
    }

    public let id = "motion-v1"
    public let needsImageFiles = false
    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func makeSequence() -> any DetectionSequence { MotionSequence(configuration) }
}

final class MotionSequence: DetectionSequence {
    let configuration: MotionDetector.Configuration
    private var background: [Float] = []
    private var width = 0, height = 0

    init(_ configuration: MotionDetector.Configuration) { self.configuration = configuration }

    func detect(_ frames: [DetectorFrame]) throws -> [FrameDetections] {
        let blurred = frames.map { Self.blur($0.analysis) }
        var results: [FrameDetections] = []
        for (i, frame) in frames.enumerated() {
            let picture = frame.analysis
            if picture.width != width || picture.height != height || background.isEmpty {
                // Seed from this frame and the next few of the same size (a burst's median).
                let seeds = blurred[i...].prefix(configuration.seedFrames)
                    .filter { $0.count == picture.width * picture.height }
                seed(Array(seeds), width: picture.width, height: picture.height)
            }
            results.append(FrameDetections(detections: analyse(blurred[i])))
        }
        return results
    }

    private func seed(_ frames: [[UInt8]], width: Int, height: Int) {
        self.width = width
        self.height = height
        let n = width * height
        background = [Float](repeating: 0, count: n)
        var values = [UInt8](repeating: 0, count: frames.count)
        for p in 0..<n {
            for (k, frame) in frames.enumerated() { values[k] = frame[p] }
            values.sort()
            background[p] = Float(values[values.count / 2])
        }
    }

    private func analyse(_ pixels: [UInt8]) -> [Detection] {
        let n = width * height
        let threshold = Float(configuration.threshold)
        var mask = [Bool](repeating: false, count: n)
        var difference = [Float](repeating: 0, count: n)
        var changed = 0
        // The background moves into a local for the loops (no per-pixel exclusivity checks on the class property).
        var background = self.background
        defer { self.background = background }
        let rate = Float(configuration.learningRate)
        pixels.withUnsafeBufferPointer { src in
            background.withUnsafeMutableBufferPointer { bg in
                mask.withUnsafeMutableBufferPointer { m in
                    difference.withUnsafeMutableBufferPointer { diff in
                        for p in 0..<n {
                            let value = Float(src[p])
                            let d = abs(value - bg[p])
                            diff[p] = d
                            let moving = d > threshold
                            m[p] = moving
                            if moving { changed += 1 }
                            bg[p] += (moving ? rate / 10 : rate) * (value - bg[p])
                        }
                    }
                }
            }
        }
        if Double(changed) > configuration.sceneChangeFraction * Double(n) {
            for p in 0..<n { background[p] = Float(pixels[p]) }
            return []
        }
        if changed == 0 { return [] }
        let grown = dilate(mask)
        return regions(grown, difference: difference, threshold: threshold)
    }

    private func dilate(_ mask: [Bool]) -> [Bool] {
        let (w, h) = (width, height)
        var out = mask
        mask.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    let y0 = max(0, y - 1), y1 = min(h - 1, y + 1)
                    for x in 0..<w where src[y * w + x] {
                        let x0 = max(0, x - 1), x1 = min(w - 1, x + 1)
                        for yy in y0...y1 {
                            for xx in x0...x1 { dst[yy * w + xx] = true }
                        }
                    }
                }
            }
        }
        return out
    }

    private func regions(_ mask: [Bool], difference: [Float], threshold: Float) -> [Detection] {
        var seen = [Bool](repeating: false, count: mask.count)
        var stack: [Int] = []
        var detections: [Detection] = []
        let minimum = max(4, Int(configuration.minimumAreaFraction * Double(mask.count)))
        for start in 0..<mask.count where mask[start] && !seen[start] {
            var minX = width, minY = height, maxX = 0, maxY = 0, count = 0
            var score: Float = 0
            seen[start] = true
            stack.append(start)
            while let p = stack.popLast() {
                let x = p % width, y = p / width
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                count += 1
                score += min(1, difference[p] / (4 * threshold))
                for dy in -1...1 {
                    let yy = y + dy
                    guard yy >= 0 && yy < height else { continue }
                    for dx in -1...1 {
                        let xx = x + dx
                        guard xx >= 0 && xx < width else { continue }
                        let q = yy * width + xx
                        if mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                    }
                }
            }
            guard count >= minimum else { continue }
            let w = Double(width), h = Double(height)
            let bbox = [Double(minX) / w, Double(minY) / h, Double(maxX - minX + 1) / w, Double(maxY - minY + 1) / h]
            let conf = (Double(score / Float(count)) * 1000).rounded() / 1000
            detections.append(Detection(category: "motion", label: "motion", conf: conf,
                                        bbox: bbox.map { ($0 * 10_000).rounded() / 10_000 }))
        }
        return detections.sorted { $0.conf > $1.conf }
    }

    /// 3×3 box blur (noise suppression), edges clamped: separable sums, O(pixels).
    static func blur(_ picture: Picture) -> [UInt8] {
        let w = picture.width, h = picture.height
        var rows = [UInt16](repeating: 0, count: w * h)
        var out = [UInt8](repeating: 0, count: w * h)
        picture.pixels.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { row in
                for y in 0..<h {
                    let base = y * w
                    for x in 0..<w {
                        let x0 = max(0, x - 1), x1 = min(w - 1, x + 1)
                        var sum: UInt16 = 0
                        for xx in x0...x1 { sum += UInt16(src[base + xx]) }
                        row[base + x] = sum * 6 / UInt16(x1 - x0 + 1)  // scaled so 2- and 3-wide windows agree
                    }
                }
            }
            rows.withUnsafeBufferPointer { row in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<h {
                        let y0 = max(0, y - 1), y1 = min(h - 1, y + 1)
                        for x in 0..<w {
                            var sum: UInt32 = 0
                            for yy in y0...y1 { sum += UInt32(row[yy * w + x]) }
                            dst[y * w + x] = UInt8(sum / UInt32(6 * (y1 - y0 + 1)))
                        }
                    }
                }
            }
        }
        return out
    }
}
