import FoundationEssentials
import Media
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

/// Operator and benchmark subcommands of `munin-worker`:
/// - `probe SOURCE [--block-size N]`: probe a local file through a byte-counting reader (what a ranged-GET reader
///   would fetch) or a URL through FFmpeg; prints JSON with the streams and `bytes_read`.
/// - `sample FILE [--interval S] [--threads N]`: decode the sampled frames to full-size RGB and print the count.
/// - `stills DIR [--concurrency N]`: run the Stage 1 still pipeline (EXIF, decode, time, motion, filter) on every
///   JPEG/PNG in DIR as one chunk, writing nothing; prints counts.
/// Blocking; for humans and `scripts/bench/50-munin.sh`.
public enum Diagnostics {
    public static let commands: Set<String> = ["probe", "sample", "stills"]

    static func value(_ arguments: [String], _ flag: String) -> String? {
        guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
        return arguments[i + 1]
    }

    public static func main(_ arguments: [String], log: @Sendable (String) -> Void) -> Int32 {
        guard let command = arguments.first, arguments.count >= 2 else {
            log("usage: munin-worker probe|sample|stills PATH [options]")
            return 2
        }
        let target = arguments[1]
        do {
            switch command {
            case "probe":
                let blockSize = Int(value(arguments, "--block-size") ?? "") ?? 64 * 1024
                let source: MediaSource = target.contains("://") ? .url(target)
                    : .reader(try fileReader(target, blockSize: blockSize))
                let info = try MediaFile.probe(source)
                let streams = info.streams.map { s in
                    "{\"index\":\(s.index),\"kind\":\"\(s.kind)\",\"codec\":\"\(s.codecName)\",\"width\":\(s.width ?? 0),"
                        + "\"height\":\(s.height ?? 0),\"fps\":\(s.frameRate ?? 0),\"rotation\":\(s.rotation)}"
                }
                print("{\"format\":\"\(info.formatName)\",\"duration\":\(info.duration ?? 0),\"bytes_read\":"
                    + "\(info.bytesRead),\"creation_time\":\"\(info.creationTime ?? "")\",\"streams\":["
                    + streams.joined(separator: ",") + "]}")
            case "sample":
                let interval = Double(value(arguments, "--interval") ?? "0.3") ?? 0.3
                let threads = Int(value(arguments, "--threads") ?? "0") ?? 0
                var frames = 0
                var checksum = 0
                let report = try MediaFile(source: .file(target)).sampleFrames(
                    FrameSampling(interval: interval, threads: threads), outputs: [PictureSpec(format: .rgb24)]
                ) { frame in
                    frames += 1
                    checksum &+= Int(frame.pictures[0].pixels[frame.pictures[0].pixels.count / 2])
                    return true
                }
                print("{\"frames\":\(frames),\"decoded\":\(report.framesDecoded),\"checksum\":\(checksum)}")
            case "stills":
                let concurrency = Int(value(arguments, "--concurrency") ?? "1") ?? 1
                let store = try DirectoryObjectStore(root: target)
                // Not the thumbnails an earlier pass wrote under runs/.
                let keys = try store.list(prefix: "").filter {
                    ChunkProcessor.isStill($0.key) && !$0.key.hasPrefix("runs/")
                }
                let chunk = Chunk(runID: "bench", index: 0, items: keys.map {
                    Chunk.Item(key: $0.key, cameraID: String($0.key.split(separator: "/").first ?? "cam"), size: $0.size)
                })
                var options = MuninOptions()
                options.concurrency = concurrency
                options.defaultTimezone = "UTC"
                let processor = try ChunkProcessor(options: options, store: store)
                let (_, summary) = processor.process(chunk, run: "bench")
                print("{\"stills\":\(summary.stills),\"detections\":\(summary.detectionsKept),"
                    + "\"files_with_errors\":\(summary.filesWithErrors)}")
            default:
                log("unknown command \(command)")
                return 2
            }
            return 0
        } catch {
            log("munin-worker \(command): \(error)")
            return 1
        }
    }

    /// A reader over a local file with `pread`, counting bytes: stands in for ranged GETs.
    static func fileReader(_ path: String, blockSize: Int) throws -> RandomAccessReader {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WorkerError("cannot open \(path): errno \(errno)") }
        var st = stat()
        fstat(fd, &st)
        // The descriptor lives for the process (a diagnostic command probes one file and exits).
        return RandomAccessReader(name: path, size: Int64(st.st_size), blockSize: blockSize) { offset, count in
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            guard n >= 0 else { throw WorkerError("pread failed: errno \(errno)") }
            return Array(buffer.prefix(n))
        }
    }
}
