import Foundation
import Odin
import OdinBasics
import OdinAWS
import OdinCost
import OdinKit
import OdinLocal

/// `odin run --quote`: the planned files priced with the cost model (issue 9) before anything is uploaded.
package enum RunQuote {
    /// Images, and seconds of video estimated from the files' sizes with the profile's `video_bytes_per_second`.
    package static func workload(_ plan: [(source: String, key: String)], chunking: Profile.Chunking)
        -> (images: Int, videoSeconds: Double)
    {
        var images = 0
        var videoSeconds = 0.0
        for (source, _) in plan {
            let ext = (source as NSString).pathExtension.lowercased()
            if chunking.imageExtensions.contains(ext) {
                images += 1
            } else if chunking.videoExtensions.contains(ext) {
                videoSeconds += Double(LocalFiles.size(source)) / chunking.videoBytesPerSecond
            }
        }
        return (images, videoSeconds)
    }

    /// The quote of `plan` against this month's ledger in `state` (spend and measured seconds per image); throws the
    /// refusal when its upper estimate exceeds the remaining budget and `acceptCost` is false.
    package static func quote(_ plan: [(source: String, key: String)], profile: Profile, state: any StateStore,
                              now: Instant, acceptCost: Bool) throws -> Quote {
        let (images, videoSeconds) = workload(plan, chunking: profile.chunking)
        let month = String(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now.timeIntervalSince1970)).prefix(7))  // the ledger's yyyy-MM
        let engine = QuoteEngine(profile: profile, prices: PriceBook(profile: profile),
                                 spentThisMonth: try CostLedger.spend(month: month, state: state),
                                 workRate: try WorkRate.fromLedger(state: state, profile: profile))
        return try engine.quote(images: images, videoSeconds: videoSeconds, acceptCost: acceptCost)
    }

    /// The ledger a quote reads: the local binding's state with `--local`, else the deployed table (ODIN_TABLE),
    /// else none (an empty store, with a note saying this month's spend counts as 0).
    package static func ledger(_ context: CommandContext, clock: any WallClock) throws -> (state: any StateStore, note: String?) {
        if context.local {
            return (try LocalStateStore(root: context.localRoot + "/state", clock: clock), nil)
        }
        if let table = context.environment["ODIN_TABLE"], !table.isEmpty {
            return (DynamoStateStore(client: try AWSAccess.client(context, concurrency: 1), table: table), nil)
        }
        return (InMemoryStateStore(clock: clock), "quote: no ledger (set ODIN_TABLE or use --local): this month's spend counts as 0")
    }
}
