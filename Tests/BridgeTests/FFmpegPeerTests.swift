import Testing
import TestSupport

/// The FFmpeg peer the media tests declare with `.requires(.ffmpeg)`: a missing or incomplete ffmpeg is reported with
/// the reason, and fails the test when peers are required (`ODIN_REQUIRE_PEERS=1`, `make test`).
@Suite struct FFmpegPeerTests {
    @Test func aMissingFFmpegIsNamed() {
        #expect(Peer.ffmpegMissingReason(path: "/nonexistent/ffmpeg") == "/nonexistent/ffmpeg is not installed")
    }

    /// `/bin/true` runs and lists nothing: every encoder and filter the fixtures use is named as lacking.
    @Test func anFFmpegWithoutTheFixturesEncodersAndFiltersIsNamed() throws {
        let reason = try #require(Peer.ffmpegMissingReason(path: "/bin/true"))
        #expect(reason == "/bin/true lacks encoder libx264, encoder mjpeg, filter color, filter testsrc, "
                + "filter testsrc2, filter overlay, filter drawbox")
    }

    @Test func aMissingRequiredFFmpegFailsTheTestNamingItAndTheFix() {
        let absent = Peer(name: "ffmpeg (/nonexistent/ffmpeg)", fix: "run scripts/deps.sh (Debian package ffmpeg)") {
            Peer.ffmpegMissingReason(path: "/nonexistent/ffmpeg")
        }
        do {
            _ = try Peer.shouldRun([absent], required: true, declaredAt: #_sourceLocation)
            Issue.record("a missing required peer must fail the test")
        } catch {
            #expect("\(error)".contains("ffmpeg (/nonexistent/ffmpeg) missing (/nonexistent/ffmpeg is not installed): "
                                        + "run scripts/deps.sh (Debian package ffmpeg)"), "\(error)")
        }
    }
}
