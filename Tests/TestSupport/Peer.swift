import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A program or service a test needs beside the code under test (moto_server, the project venv, FFmpeg, …).
///
/// Tests declare their peers with the `.requires(_:)` trait, the one way a test depends on a peer:
///
///     @Suite(.requires(.venv, .contractChecker)) struct IngestTests { … }
///
/// When a peer is missing the test is reported as SKIPPED with the reason and the fix, and the run ends with a
/// summary of what was skipped and why. When peers are required (`ODIN_REQUIRE_PEERS=1`, which `make test` sets,
/// or `CI=true`) a missing peer is a FAILURE naming it instead. A test never returns early as passed.
public struct Peer: Sendable, CustomStringConvertible {
    /// What the peer is, e.g. "moto_server (MOTO_ENDPOINT)".
    public let name: String
    /// How to provide it, e.g. "run the tests through scripts/with-moto.sh (make test)".
    public let fix: String
    /// Why it is unavailable, or nil when it is available.
    private let probe: @Sendable () -> String?

    public init(name: String, fix: String, probe: @escaping @Sendable () -> String?) {
        self.name = name
        self.fix = fix
        self.probe = probe
    }

    /// Why the peer is unavailable, or nil when it is there.
    public var missingReason: String? { probe() }
    public var isAvailable: Bool { missingReason == nil }
    public var description: String { name }
}

// MARK: - The peers

extension Peer {
    /// The suite-wide moto_server that scripts/with-moto.sh starts and exports as MOTO_ENDPOINT.
    public static let moto = Peer(name: "moto_server (MOTO_ENDPOINT)",
                                  fix: "run the tests through scripts/with-moto.sh (make test)") {
        Peers.motoEndpoint == nil ? "MOTO_ENDPOINT is not set" : nil
    }

    /// The project venv (scripts/venv.sh, scripts/requirements-test.txt): moto_server for the suites' private
    /// servers, botocore, cfn-lint and the Stage 3 validators.
    public static let venv = Peer(name: "the project venv (.venv or ODIN_VENV)", fix: "run scripts/venv.sh") {
        guard let venv = Peers.venv else { return "no \(Peers.packageRoot)/.venv/bin/python and ODIN_VENV unset" }
        for tool in ["python", "moto_server"] where access(venv + "/bin/" + tool, X_OK) != 0 {
            return "\(venv)/bin/\(tool) is missing"
        }
        return nil
    }

    /// The AWS contract checker (scripts/contract/server.py) that scripts/with-moto.sh exports as
    /// ODIN_CONTRACT_ENDPOINT.
    public static let contractChecker = Peer(
        name: "the AWS contract checker (ODIN_CONTRACT_ENDPOINT)",
        fix: "run the tests through scripts/with-moto.sh (make test), which starts scripts/contract/server.py"
    ) {
        ContractVerdict.endpoint == nil ? "ODIN_CONTRACT_ENDPOINT is not set" : nil
    }

    /// FFmpeg's command-line tool, which the media tests generate their clips and stills with (lavfi sources, the
    /// libx264 and MJPEG encoders). Every test that runs it, directly or through a fixture, declares
    /// `.requires(.ffmpeg)`. FFmpeg's libraries are linked by the test bundles themselves (Media), so a bundle that
    /// loads has them.
    public static let ffmpeg = Peer(name: "ffmpeg (\(ffmpegPath))", fix: "run scripts/deps.sh (Debian package ffmpeg)") {
        ffmpegMissing
    }

    /// The ffmpeg the tests run: `/usr/bin/ffmpeg` (the Debian package), or `ODIN_TEST_FFMPEG` when set, which lets a
    /// run check how the media tests behave without FFmpeg (`ODIN_TEST_FFMPEG=/nonexistent`: skipped, or failed
    /// under `ODIN_REQUIRE_PEERS=1`).
    public static let ffmpegPath: String = {
        let path = ProcessInfo.processInfo.environment["ODIN_TEST_FFMPEG"] ?? ""
        return path.isEmpty ? "/usr/bin/ffmpeg" : path
    }()

    /// The encoders and lavfi filters the media fixtures use (Tests/MuninTests/Support.swift, MediaBridgeTests,
    /// BatchJobsOnS3Tests, DemoPipelineTests and the odin demo's sample generator).
    static let ffmpegEncoders = ["libx264", "mjpeg"]
    static let ffmpegFilters = ["color", "testsrc", "testsrc2", "overlay", "drawbox"]

    /// Why ffmpeg cannot make the fixtures, or nil; probed once (it does not change while the tests run).
    private static let ffmpegMissing = ffmpegMissingReason(path: ffmpegPath)

    /// Why the ffmpeg at `path` cannot make the fixtures (not installed, or lacking an encoder or filter), or nil.
    package static func ffmpegMissingReason(path: String) -> String? {
        guard access(path, X_OK) == 0 else { return "\(path) is not installed" }
        func names(_ listing: String) throws -> Set<Substring> {
            let run = try Peers.run(path, ["-hide_banner", listing])
            guard run.status == 0 else { throw Missing(description: "\(listing) exited \(run.status): \(run.stderr)") }
            // Lines are "<flags> <name> <description>"; the name is the second column.
            return Set(run.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first })
        }
        do {
            let encoders = try names("-encoders"), filters = try names("-filters")
            let missing = ffmpegEncoders.filter { !encoders.contains(Substring($0)) }.map { "encoder " + $0 }
                + ffmpegFilters.filter { !filters.contains(Substring($0)) }.map { "filter " + $0 }
            return missing.isEmpty ? nil : "\(path) lacks " + missing.joined(separator: ", ")
        } catch {
            return "\(path) could not list its encoders and filters: \(error)"
        }
    }

    /// The built `odin` executable next to the test bundle.
    public static let odin = Peer(name: "the odin executable", fix: "swift build --product odin (swift test builds it)") {
        let path = TestEnvironment.binary("odin")
        return access(path, X_OK) == 0 ? nil : "\(path) is not built"
    }

    /// Headless Chromium, for report.html.
    public static let chromium = Peer(name: "Chromium", fix: "run scripts/deps.sh (Debian package chromium)") {
        Peer.chromiumPath == nil ? "none of \(Peer.chromiumCandidates.joined(separator: ", ")) is installed" : nil
    }

    static let chromiumCandidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

    /// The first installed Chromium, if any.
    public static var chromiumPath: String? { chromiumCandidates.first { access($0, X_OK) == 0 } }
}

// MARK: - Required or skipped

extension Peer {
    /// True when a missing peer must fail the test instead of skipping it: `ODIN_REQUIRE_PEERS=1` (set by
    /// `make test`, hence `.ci/run`) or `CI=true`.
    public static var areRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["ODIN_REQUIRE_PEERS"] == "1" || environment["CI"] == "true"
    }

    /// The failure a test reports when a required peer is missing.
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether a test needing `peers` runs: true when all are there; false (skip, recorded for the summary) when
    /// one is missing; throws `Missing` (the test fails) when one is missing and peers are required.
    package static func shouldRun(_ peers: [Peer], required: Bool = areRequired,
                                  declaredAt sourceLocation: SourceLocation) throws -> Bool {
        let missing = peers.compactMap { peer in peer.missingReason.map { (peer, $0) } }
        guard !missing.isEmpty else { return true }
        let reasons = missing.map { "\($0.0.name) missing (\($0.1)): \($0.0.fix)" }
        if required {
            throw Missing(description: reasons.joined(separator: "; ")
                          + " [peers are required: ODIN_REQUIRE_PEERS=1 or CI=true]")
        }
        SkipSummary.record(missing.map { "\($0.0.name) missing: \($0.0.fix)" }, declaredAt: sourceLocation)
        return false
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only when every one of `peers` is available. A missing peer skips it with the
    /// peers' names and fixes as the reason, or fails it when peers are required (`ODIN_REQUIRE_PEERS=1`,
    /// `make test`, or `CI=true`).
    public static func requires(_ peers: Peer..., sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        // The reason shown for a skip: the missing peers (availability does not change while the tests run).
        let missing = peers.compactMap { peer in peer.missingReason.map { "\(peer.name) missing (\($0)): \(peer.fix)" } }
        let comment = Comment(rawValue: missing.isEmpty
            ? "needs " + peers.map(\.name).joined(separator: ", ") : missing.joined(separator: "; "))
        return .enabled(comment, sourceLocation: sourceLocation) {
            try Peer.shouldRun(peers, declaredAt: sourceLocation)
        }
    }
}

// MARK: - Skip summary

/// Collects the tests and suites skipped for a missing peer and prints them by reason when the test process exits,
/// after Swift Testing's own summary line (which does not count skips). A `.requires` on a suite is evaluated for the
/// suite and again for each of its tests, so skips are counted per declaration (its source location).
enum SkipSummary {
    private static let declarations = Mutex<[String: Set<String>]>([:])
    private static let installed = Mutex(false)

    static func record(_ missing: [String], declaredAt sourceLocation: SourceLocation) {
        let place = "\(sourceLocation.fileID):\(sourceLocation.line)"
        declarations.withLock { byReason in for reason in missing { byReason[reason, default: []].insert(place) } }
        let first = installed.withLock { done in defer { done = true }; return !done }
        if first { atexit { SkipSummary.printSummary() } }
    }

    static func printSummary() {
        let byReason = declarations.withLock { $0 }
        guard !byReason.isEmpty else { return }
        let places = byReason.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        var text = "\nSKIPPED for a missing peer: \(places.count) test or suite declaration(s) "
            + "(ODIN_REQUIRE_PEERS=1, which make test sets, makes each a failure):\n"
        for (reason, places) in byReason.sorted(by: { $0.key < $1.key }) {
            text += "  \(places.count)× \(reason)\n      at \(places.sorted().joined(separator: ", "))\n"
        }
        // `print` writes through C stdio's stdout buffer, as Swift Testing's console output does, so this comes after
        // its last line.
        print(text, terminator: "")
        fflush(nil)
    }
}
