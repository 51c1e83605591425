/// A decoded image in Swift-owned memory: tightly packed rows (stride = width × channels), top-left origin.
public struct Picture: Sendable, Equatable {
    /// Pixel layout.
    public enum Format: Sendable, Equatable {
        /// One byte of luma per pixel (what the motion detector reads).
        case gray8
        /// Three bytes per pixel, R G B (what crops and external detectors get).
        case rgb24

        public var channels: Int { self == .gray8 ? 1 : 3 }
    }

    public let width: Int
    public let height: Int
    public let format: Format
    /// `height` rows of `width × format.channels` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, format: Format, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * format.channels,
                     "Picture: pixel count does not match \(width)x\(height) \(format)")
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// This picture turned clockwise by 0, 90, 180 or 270 degrees (other values are rounded to the nearest quarter).
    /// O(pixels); returns `self` unchanged for 0.
    public func rotated(clockwiseDegrees degrees: Int) -> Picture {
        let quarter = ((Int((Double(degrees) / 90).rounded()) % 4) + 4) % 4
        if quarter == 0 { return self }
        let c = format.channels
        let (w, h) = (width, height)
        let (outW, outH) = quarter == 2 ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let (nx, ny): (Int, Int)
                        switch quarter {
                        case 1: (nx, ny) = (h - 1 - y, x)
                        case 2: (nx, ny) = (w - 1 - x, h - 1 - y)
                        default: (nx, ny) = (y, w - 1 - x)
                        }
                        let s = (y * w + x) * c
                        let d = (ny * outW + nx) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                    }
                }
            }
        }
        return Picture(width: outW, height: outH, format: format, pixels: out)
    }

    /// The pixels inside `x ..< x+width, y ..< y+height`, clamped to the picture. O(crop area).
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> Picture {
        let x0 = max(0, min(width - 1, x)), y0 = max(0, min(height - 1, y))
        let x1 = max(x0 + 1, min(width, x + cropWidth)), y1 = max(y0 + 1, min(height, y + cropHeight))
        let c = format.channels
        var out: [UInt8] = []
        out.reserveCapacity((x1 - x0) * (y1 - y0) * c)
        for row in y0..<y1 {
            let start = (row * width + x0) * c
            out.append(contentsOf: pixels[start..<(start + (x1 - x0) * c)])
        }
        return Picture(width: x1 - x0, height: y1 - y0, format: format, pixels: out)
    }
}

/// What size and layout a decoded frame is converted to (libswscale, bilinear).
public struct PictureSpec: Sendable, Equatable, Hashable {
    public var format: Picture.Format
    /// Scale down (never up) so that the longer side is at most this many pixels, keeping the aspect ratio;
    /// nil keeps the decoded size.
    public var maxDimension: Int?

    public init(format: Picture.Format, maxDimension: Int? = nil) {
        self.format = format
        self.maxDimension = maxDimension
    }

    /// Output size for a `width × height` source.
    func size(forWidth width: Int, height: Int) -> (width: Int, height: Int) {
        guard let limit = maxDimension, limit > 0, max(width, height) > limit else { return (width, height) }
        let scale = Double(limit) / Double(max(width, height))
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}
