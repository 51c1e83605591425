import Foundation
import TestSupport
import Testing

/// `odin run --quote [--accept-cost]` (issue 9): the quote is printed, an over-budget run is refused before anything
/// is uploaded or started, and --accept-cost lets it through.
@Suite(.requires(.odin)) struct QuoteTests {
    @Test func overBudgetRunIsRefusedUnlessAccepted() throws {
        let root = try TestEnvironment.makeTemporaryDirectory("quote")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/media/cam01", withIntermediateDirectories: true)
        for index in 0..<4 {
            FileManager.default.createFile(atPath: root + "/media/cam01/IMG_000\(index).JPG", contents: Data([0xFF, 0xD8]))
        }
        try "budget:\n  amount: 0.00001\n".write(toFile: root + "/tiny.yaml", atomically: true, encoding: .utf8)
        let refused = try OdinProcess.run(["run", "--local", "--local-root", root + "/local", "--quote",
                                           "--profile", root + "/tiny.yaml", root + "/media"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("Quote for 4 images"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--accept-cost"))
        // Nothing was started: no object reached the local store.
        #expect(!FileManager.default.fileExists(atPath: root + "/local/store/raw"))

        // Within the default profile's budget the quote is printed and the run goes ahead.
        let accepted = try OdinProcess.run(["run", "--local", "--local-root", root + "/local2", "--quote",
                                            "--local-output", root + "/out"] + OdinProcess.binDirArguments
                                           + [root + "/media"], directory: TestEnvironment.packageRoot)
        #expect(accepted.status == 0, "\(accepted.stdout)\n\(accepted.stderr)")
        #expect(accepted.stdout.contains("within budget"), "\(accepted.stdout)")
        #expect(FileManager.default.fileExists(atPath: root + "/local2/store/raw/cam01/IMG_0000.JPG"))
    }
}
