import ArgumentParser
import OdinApp
import OdinCost

/// `odin costs`: the cost ledger (per month or per run), and price-aware instance advice.
struct CostsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "costs",
        abstract: "Show recorded spend per month or per run, or rank instance types by cost per 1,000 images.",
        discussion: """
            Spend comes from Odin's ledger (job vCPU-time × the profile's price table — an estimate, not the AWS \
            bill). With --advise, candidate instance types are ranked by expected cost per 1,000 images = price × \
            seconds per image (measured from the ledger of finished runs when there are any, else the profile's \
            assumption) and the Spot CE's instance list is recommended. --measure-spot reads Spot prices with EC2 \
            DescribeSpotPriceHistory (90 days, every AZ; cached in the state store for 6 h); otherwise the profile's \
            editable table is used and labelled as an assumption.

            The ledger is read from the local binding's state (--local, folder --local-root) or from the deployed \
            stack's state table (--stack NAME, ODIN_STACK or ODIN_TABLE).

            Examples:
              odin costs --local                                  # after odin run --local
              odin costs --local --local-root .odin/demo          # after odin demo
              odin costs RUN-ID --stack odins-ravne-dev --json
              odin costs --advise --images 250000 --video-hours 12 --measure-spot
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A run id: show that run's ledger.", valueName: "run"))
    var runID: String?

    @Option(name: .long, help: "Only months/runs from this date on (YYYY-MM or YYYY-MM-DD).")
    var since: String?

    @Flag(name: .long, help: "Rank the candidate instance types by expected cost per 1,000 images.")
    var advise = false

    @Option(name: .long, help: "With --advise: cost this many images on the best type.")
    var images: Int?

    @Option(name: .long, help: "With --advise: cost this many hours of video on the best type.")
    var videoHours: Double?

    @Flag(name: .long, help: "Measure Spot prices with DescribeSpotPriceHistory (AWS credentials and region needed).")
    var measureSpot = false

    func validate() throws {
        if let since, CostReport.monthPrefix(since) == nil {
            throw ValidationError("--since '\(since)' is not YYYY-MM or YYYY-MM-DD")
        }
        if (images != nil || videoHours != nil) && !advise {
            throw ValidationError("--images and --video-hours go with --advise")
        }
        if let images, images < 0 { throw ValidationError("--images must be ≥ 0") }
        if let videoHours, videoHours < 0 || !videoHours.isFinite { throw ValidationError("--video-hours must be ≥ 0") }
        if runID != nil && advise { throw ValidationError("give either a RUN or --advise, not both") }
    }

    func run() throws {
        var report = CostReport()
        report.runID = runID
        report.since = since
        report.advise = advise
        report.images = images
        report.videoHours = videoHours
        report.measureSpot = measureSpot
        let json = global.json
        switch try report.run(global.context) {
        case .advice(let advice): print(json ? try CostReport.encode(advice) : advice.text())
        case .run(let line): print(json ? try CostReport.encode(line) : line.text)
        case .ledger(let ledger):
            if json { return print(try CostReport.encode(ledger)) }
            print("Estimated spend (\(ledger.currency)) — \(ledger.note)")
            for month in ledger.months { print("  " + month.text) }
            if ledger.months.isEmpty { print("  (no spend recorded)") }
            print("Runs:")
            for line in ledger.runs { print("  " + line.text) }
            if ledger.runs.isEmpty { print("  (none)") }
        }
    }
}
