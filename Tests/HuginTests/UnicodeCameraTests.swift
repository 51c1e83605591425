import FoundationEssentials
import OdinKit
import Testing

@testable import Hugin

/// Camera names are told apart by their bytes: `café` in NFC and in NFD are two cameras (two folders in the
/// bucket), as megadetector.json already lists them; Swift's `String ==` would merge them.
@Suite struct UnicodeCameraTests {
    @Test func nfcAndNfdCameraNamesAreTwoDeploymentsInMediaCSV() throws {
        let store = try makeStore()
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        #expect(nfc == nfd)  // what String equality says
        try writeChunks(store, run: "r1", [[
            record("raw/\(nfc)/A.JPG", camera: nfc, time: "2026-05-01T01:46:40Z", [("fox", 0.9)]),
            record("raw/\(nfd)/B.JPG", camera: nfd, time: "2026-05-01T01:46:41Z", [("fox", 0.9)]),
        ]])
        _ = try Condenser(options: CondensationOptions(), store: store, clock: FixedClock()).condense(run: "r1", failedChunks: [])
        let media = String(decoding: try store.get("runs/r1/stage3/media.csv"), as: UTF8.self)
        let rows = media.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst()
        #expect(rows.count == 2)
        // Each row's deployment carries its own camera's bytes.
        let deployments = rows.map { row in Array(row.split(separator: ",", omittingEmptySubsequences: false)[1].utf8) }
        #expect(Set(deployments).count == 2, "\(media)")
        #expect(deployments.contains { $0.starts(with: Array(nfc.utf8)) } && deployments.contains { $0.starts(with: Array(nfd.utf8)) })
    }
}
