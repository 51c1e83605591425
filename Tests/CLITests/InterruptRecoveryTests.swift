import Foundation
import OdinBasics
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `odin run --local` interrupted by SIGINT at seeded random points, then the documented recovery command (the same
/// `odin run --local …` again): every file is processed exactly once and Stage 3 — detections, media, visits — is
/// what an uninterrupted run gives.
@Suite(.serialized, .requires(.ffmpeg, .odin)) struct InterruptRecoveryTests {
    static let points = 50
    static let seed: UInt64 = 20_261_203

    struct Setup {
        let dir: String
        let media: String
        let profile: String
    }

    static func makeMedia() throws -> Setup {
        let dir = try TestEnvironment.makeTemporaryDirectory("cli-sigint")
        // The demo's sample set (two cameras, EXIF capture times and GPS, bursts and empty scenes), generated once.
        let demo = try OdinProcess.run(["demo", "--dir", dir + "/demo", "--cameras", "2", "--stills-per-burst", "3",
                                        "--videos", "0", "--files-per-chunk", "2", "--json"] + OdinProcess.binDirArguments)
        guard demo.status == 0 else { throw CLITestError("odin demo failed: \(demo.stderr.suffix(1000))") }
        let media = dir + "/demo/samples"
        // Two images per chunk: three chunks, so an interruption can fall between chunks.
        let profile = dir + "/profile.yaml"
        try "pipeline:\n  chunking:\n    target_minutes: 1\n    seconds_per_image: 30\n"
            .write(toFile: profile, atomically: true, encoding: .utf8)
        return Setup(dir: dir, media: media, profile: profile)
    }

    static func arguments(_ setup: Setup, root: String, binDir: [String] = OdinProcess.binDirArguments) -> [String] {
        ["run", "--local", "--local-root", root, setup.media, "--profile", setup.profile,
         "--local-output", root + "-out", "--json", "--timeout", "120"] + binDir
    }

    /// Stage 3 of every run under `root`, run ids replaced, as file name → lines (sorted where order is free).
    static func stage3(_ root: String) throws -> [String: [String]] {
        let runs = root + "/store/runs"
        var files: [String: [String]] = [:]
        for run in try FileManager.default.contentsOfDirectory(atPath: runs).sorted() {
            let folder = runs + "/" + run + "/stage3"
            guard FileManager.default.fileExists(atPath: folder) else { continue }
            for name in ["media.csv", "observations.csv", "visits.csv", "compressed_observations.json"] {
                guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
                // media.csv's filePath names the store (file:///…/<root>/store/raw/…): the same media in another root.
                let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: run, with: "<run>")
                    .replacingOccurrences(of: root + "/store/", with: "<store>/")
                files[name, default: []] += text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
            }
        }
        return files.mapValues { $0.sorted() }
    }

    @Test func sigintAtRandomPointsThenTheRecoveryCommandGivesTheUninterruptedStage3() throws {
        let sweepStarted = Date()
        let setup = try Self.makeMedia()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let baselineRoot = setup.dir + "/baseline"
        let started = Date()
        let baseline = try OdinProcess.run(Self.arguments(setup, root: baselineRoot))
        let duration = Date().timeIntervalSince(started)
        #expect(baseline.status == 0, "\(baseline.stderr.suffix(2000))")
        let expected = try Self.stage3(baselineRoot)
        let media = try #require(expected["media.csv"])
        // Every image with a capture time, once (two cameras × one burst of three).
        #expect(media.filter { $0.contains("IMG_") }.count == 6, "\(media)")
        #expect(!(expected["observations.csv"] ?? []).isEmpty && !(expected["visits.csv"] ?? []).isEmpty)

        var generator = SplitMix64(seed: Self.seed)
        var failures: [String] = []
        var interruptedBeforeTheEnd = 0
        for point in 0..<Self.points {
            let root = setup.dir + "/p\(point)"
            let delay = Double.random(in: 0.05...max(0.1, duration), using: &generator)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: OdinProcess.binary)
            process.arguments = Self.arguments(setup, root: root)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(delay * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGINT)
                interruptedBeforeTheEnd += 1
            }
            process.waitUntilExit()
            // The recovery command (README, docs/cli.md): the same command again.
            let recovery = try OdinProcess.run(Self.arguments(setup, root: root))
            let state = recovery.status == 0 ? try Self.stage3(root) : [:]
            if recovery.status != 0 || state != expected {
                let what = recovery.status != 0
                    ? "recovery exited \(recovery.status): \(recovery.stderr.suffix(400))"
                    : "Stage 3 differs in \(expected.keys.sorted().filter { state[$0] != expected[$0] }); media \(state["media.csv"] ?? [])"
                failures.append("point \(point) (SIGINT after \(String(format: "%.2f", delay)) s): \(what); store, state "
                                + "and logs kept in \(Self.keep(root, point: point))")
            }
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: root + "-out")
        }
        print("SIGINT recovery: \(Self.points) points (seed \(Self.seed)), \(interruptedBeforeTheEnd) interrupted before the run ended, \(failures.count) divergent")
        SweepReport.record(sweep: "sigint", scenario: "odin run --local on the demo samples (2 cameras, 2 files per chunk)", calls: 0, cases: Self.points,
                           divergent: failures.count, seconds: Date().timeIntervalSince(sweepStarted),
                           detail: "seed \(Self.seed), \(interruptedBeforeTheEnd) interrupted before the run ended")
        #expect(failures.isEmpty, "\(failures.count) of \(Self.points):\n\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// A divergent point's local root (store, state, worker logs), moved out of the test's folder for diagnosis.
    static func keep(_ root: String, point: Int) -> String {
        let kept = NSTemporaryDirectory() + "odin-sigint-divergent-\(getpid())-p\(point)"
        try? FileManager.default.removeItem(atPath: kept)
        return (try? FileManager.default.moveItem(atPath: root, toPath: kept)) != nil ? kept : root + " (could not move)"
    }

    /// The runs of the two cameras share a site (cameras 3 m apart) and their chunks run in parallel, so which run's
    /// last chunk ends first is a race (after an interruption, between different numbers of chunks left). Forced
    /// both ways by a `munin-worker` wrapper that holds one camera's chunks until the other camera's chunks are all
    /// recorded done, Stage 3 is the same: runs condense in the order they were sealed.
    @Test func stage3IsTheSameWhicheverRunFinishesItsChunksFirst() throws {
        let setup = try Self.makeMedia()
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let worker = ProcessInfo.processInfo.environment["ODIN_TEST_BIN_DIR"].map { $0 + "/munin-worker" }
            ?? TestEnvironment.binary("munin-worker")
        // cam01 has 3 images (2 chunks), cam02 6 (3 chunks).
        var results: [String: [String: [String]]] = [:]
        for (held, other, otherChunks) in [("cam01", "cam02", 3), ("cam02", "cam01", 2)] {
            let bin = setup.dir + "/bin-\(held)"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            // The done markers are state items `run#<run>`/`done#<chunk>`: files `run_<run>-<hash>/done_…` (LocalStateStore).
            // Gives up after 120 s (exit 3: the chunk fails and Stage 3 differs, so a stuck wait cannot pass).
            let script = """
                #!/bin/sh
                case "$ODIN_RUN_ID" in
                  \(held)-*)
                    state="${ODIN_STORE%/store}/state"
                    n=0
                    while [ "$(ls -d "$state"/run_\(other)-*/done_* 2>/dev/null | wc -l)" -lt \(otherChunks) ]; do
                      sleep 0.1; n=$((n+1)); [ $n -gt 1200 ] && exit 3
                    done;;
                esac
                exec '\(worker)' "$@"

                """
            try script.write(toFile: bin + "/munin-worker", atomically: true, encoding: .utf8)
            chmod(bin + "/munin-worker", 0o755)
            let root = setup.dir + "/held-\(held)"
            let result = try OdinProcess.run(Self.arguments(setup, root: root, binDir: ["--bin-dir", bin]))
            #expect(result.status == 0, "\(result.stderr.suffix(2000))")
            results[held] = try Self.stage3(root)
        }
        let first = try #require(results["cam01"]), second = try #require(results["cam02"])
        #expect(Self.mediaRows(first).filter { $0.contains("IMG_") }.count == 6, "\(first["media.csv"] ?? [])")
        for name in ["media.csv", "observations.csv", "visits.csv", "compressed_observations.json"] {
            #expect(first[name] != nil && first[name] == second[name],
                    "\(name): cam01 last \(first[name] ?? []) ≠ cam02 last \(second[name] ?? [])")
        }
    }

    /// media.csv's rows without the header lines (one per run): which media files Stage 3 holds, each once.
    static func mediaRows(_ stage3: [String: [String]]) -> [String] {
        (stage3["media.csv"] ?? []).filter { !$0.hasPrefix("mediaID,") }
    }
}
