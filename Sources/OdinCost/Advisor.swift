import FoundationEssentials
import Odin

/// One candidate instance type ranked by expected cost per 1,000 images.
public struct InstanceAdvice: Sendable, Equatable, Codable {
    public var instanceType: String
    public var vcpus: Int
    public var slots: Int
    public var spotPrice: PriceFigure
    public var onDemandPrice: PriceFigure
    public var spotPer1000Images: Double
    public var onDemandPer1000Images: Double
    /// 1 − spot/on-demand at the mean Spot price.
    public var spotSaving: Double
    /// Interruption risk as far as our data shows it: the Spot price spread (high ÷ low) when measured. The
    /// interruption frequency itself is not in DescribeSpotPriceHistory (Spot Advisor feed: not consulted).
    public var interruptionRisk: String
    public var recommended: Bool
}

public struct Advice: Sendable, Equatable, Codable {
    public var currency: String
    public var workRate: WorkRate
    public var candidates: [InstanceAdvice]
    /// The Spot CE's instance list we recommend (cheapest first).
    public var recommendedSpotInstanceTypes: [String]
    /// Optional workload costing with the best candidate.
    public var images: Int?
    public var videoHours: Double?
    public var workloadSpot: Double?
    public var workloadOnDemand: Double?
    public var notes: [String]
}

/// Ranks the profile's candidate instance types (compute.instance_types plus every type in prices.on_demand with a
/// vCPU entry and at least vcpus_per_job vCPUs) by expected cost per 1,000 images = price per hour ÷ chunks per
/// instance × seconds per image × 1000 ÷ 3600.
public struct Advisor: Sendable {
    public var profile: Profile
    public var prices: PriceBook
    public var workRate: WorkRate

    public init(profile: Profile, prices: PriceBook, workRate: WorkRate? = nil) {
        self.profile = profile
        self.prices = prices
        self.workRate = workRate ?? .assumption(profile)
    }

    public func advise(images: Int? = nil, videoHours: Double? = nil) -> Advice {
        let perJob = profile.compute.vcpusPerJob
        let types = Set(profile.compute.instanceTypes).union(prices.onDemand.keys.filter {
            (profile.prices.vcpus[$0] ?? 0) >= Double(perJob)
        })
        var rows: [InstanceAdvice] = []
        for type in types.sorted() {
            guard let od = prices.onDemand[type], let vcpus = profile.prices.vcpus[type] else { continue }
            let spot = prices.spot[type] ?? od
            let slots = max(1, Int(vcpus) / perJob)
            func per1000(_ price: Double) -> Double { price / Double(slots) * workRate.secondsPerImage * 1000 / 3600 }
            let saving = od.mean > 0 ? 1 - spot.mean / od.mean : 0
            let risk = spot.origin == .measured
                ? "price spread \(Fmt.num(spot.low > 0 ? spot.high / spot.low : 1, 2))× over the window; interruption frequency not measured"
                : "unknown (no measured Spot history; Spot Advisor feed not consulted)"
            rows.append(InstanceAdvice(instanceType: type, vcpus: Int(vcpus), slots: slots, spotPrice: spot,
                                       onDemandPrice: od, spotPer1000Images: per1000(spot.mean),
                                       onDemandPer1000Images: per1000(od.mean), spotSaving: saving,
                                       interruptionRisk: risk,
                                       recommended: saving >= profile.costOptimization.costThreshold))
        }
        rows.sort { ($0.spotPer1000Images, $0.instanceType) < ($1.spotPer1000Images, $1.instanceType) }
        let recommended = rows.filter(\.recommended).map(\.instanceType)
        var advice = Advice(currency: prices.currency, workRate: workRate, candidates: rows,
                            recommendedSpotInstanceTypes: recommended, images: images, videoHours: videoHours,
                            notes: [
                                "work rate: \(workRate.source); the same rate is used for every type (no per-type measurement)",
                                "recommended = Spot saving ≥ pipeline.cost_optimization.cost_threshold (\(profile.costOptimization.costThreshold))",
                            ])
        if let best = rows.first, images != nil || videoHours != nil {
            let work = Double(images ?? 0) * workRate.secondsPerImage +
                (videoHours ?? 0) * 3600 * profile.chunking.workSecondsPerVideoSecond
            let hours = work / Double(best.slots) / 3600
            advice.workloadSpot = hours * best.spotPrice.mean
            advice.workloadOnDemand = hours * best.onDemandPrice.mean
        }
        return advice
    }
}

extension Advice {
    public func text() -> String {
        var out = "Instance types by expected Spot cost per 1,000 images (\(currency)):\n"
        let header = ["type", "vCPU", "chunks/inst", "Spot /h", "OD /h", "Spot /1k img", "OD /1k img", "saving", "risk"]
        var table = [header]
        for row in candidates {
            table.append([row.instanceType + (row.recommended ? " *" : ""), "\(row.vcpus)", "\(row.slots)",
                          Fmt.money(row.spotPrice.mean) + (row.spotPrice.origin == .measured ? " (m)" : " (a)"),
                          Fmt.money(row.onDemandPrice.mean) + " (a)", Fmt.money(row.spotPer1000Images),
                          Fmt.money(row.onDemandPer1000Images), Fmt.num(row.spotSaving * 100, 0) + " %",
                          row.interruptionRisk])
        }
        let widths = (0..<header.count).map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            out += row.enumerated().map { $0.element + String(repeating: " ", count: widths[$0.offset] - $0.element.count) }
                .joined(separator: "  ") + "\n"
        }
        out += "(m) measured Spot history, (a) profile table — an editable assumption; * recommended\n"
        out += "Recommended Spot CE instance list: [\(recommendedSpotInstanceTypes.joined(separator: ", "))]\n"
        if let spot = workloadSpot, let od = workloadOnDemand {
            out += "Workload (\(images ?? 0) images, \(Fmt.num(videoHours ?? 0, 1)) h video) on \(candidates.first?.instanceType ?? "?"): Spot \(Fmt.money(spot)) \(currency), On-Demand \(Fmt.money(od)) \(currency)\n"
        }
        out += notes.map { "note: \($0)" }.joined(separator: "\n")
        return out
    }
}
