import Foundation

/// The reliability sweeps' figures (fault sweeps, SIGINT recovery): each sweep appends one JSON line to
/// `.build/reliability/sweeps.jsonl` (and prints it), which `scripts/bench/95-reliability.sh` renders into
/// BENCHMARKS.md's reliability section. Figures are reported, never asserted on.
public enum SweepReport {
    public static var path: String { TestEnvironment.packageRoot + "/.build/reliability/sweeps.jsonl" }

    /// - Parameters:
    ///   - sweep: which sweep (`ports`, `aws`, `aws-retries`, `sigint`).
    ///   - calls: the calls of the fault-free scenario (the k range).
    ///   - cases: the (scenario, k, fault) cases run; `divergent` of them ended in another end state.
    ///   - detail: how k was chosen (every k, the sample and its seed).
    public static func record(sweep: String, scenario: String, calls: Int, cases: Int, divergent: Int,
                              seconds: Double, detail: String) {
        let line: [String: Any] = ["sweep": sweep, "scenario": scenario, "calls": calls, "cases": cases,
                                   "divergent": divergent, "seconds": (seconds * 10).rounded() / 10, "detail": detail]
        guard let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        print("sweep report: " + String(decoding: data, as: UTF8.self))
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = try? FileHandle(forWritingTo: url) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: data + Data("\n".utf8))
    }
}
