import FoundationEssentials

extension SimulationReport {
    /// Pretty, key-sorted JSON.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A plain-text table for the terminal.
    public func table() -> String {
        let c = prices.currency
        var rows: [(String, String)] = [
            ("scenario / policy / seed", "\(scenario) / \(policy) / \(seed)"),
            ("images uploaded", "\(imagesUploaded)" + (videoSecondsUploaded > 0 ? " + \(Fmt.num(videoSecondsUploaded / 3600, 1)) h video" : "")),
            ("runs (completed)", "\(runs) (\(runsCompleted); \(imagesInCompletedRuns) images in completed runs)"),
            ("chunks ok / failed", "\(chunksSucceeded) / \(chunksFailed)"),
            ("attempts reclaimed / chunks fallen back", "\(attemptsReclaimed) / \(chunksFallenBack)"),
            ("total cost", "\(Fmt.money(totalCost)) \(c) (Spot \(Fmt.money(spotCost)), On-Demand \(Fmt.money(onDemandCost)))"),
            ("cost per 1,000 images", "\(Fmt.money(costPer1000Images)) \(c)"),
        ]
        if let ledgerEstimate { rows.append(("Odin ledger estimate (job time only)", "\(Fmt.money(ledgerEstimate)) \(c)")) }
        rows += [
            ("makespan per run (p50 / p95 / max)", "\(Fmt.duration(makespan.p50)) / \(Fmt.duration(makespan.p95)) / \(Fmt.duration(makespan.max))"),
            ("idle vCPU-minutes after drain", "\(Fmt.num(idleVcpuMinutesAfterDrain, 1)) (\(Fmt.num(idleVcpuMinutesPerRun, 2)) per run)"),
            ("share of work on Spot", "\(Fmt.num(spotWorkShare * 100, 1)) %"),
        ]
        if let at = budget.alarmReachedFunctionAt {
            let overshoot = budget.overshootCost.map { "\(Fmt.money($0)) \(c)" } ?? "-"
            let seconds = budget.overshootSecondsOfFleetCost.map { Fmt.num($0, 0) + " s of fleet cost" } ?? "-"
            rows.append(("budget alarm reached function", "t = \(Fmt.duration(at)); overshoot after it \(overshoot) = \(seconds)" + (budget.killSwitch ? "" : " (no kill-switch)")))
        } else {
            rows.append(("budget alarm", "not reached (threshold \(Fmt.money(budget.threshold)) \(c))"))
        }
        rows += [
            ("jobs started while kill-switch active", "\(invariants.jobsStartedWhileKillSwitchActive)"),
            ("teardown after drain (max)", "\(Fmt.duration(invariants.teardownAfterDrain.max)) over \(invariants.teardownAfterDrain.count) drains"),
            ("control-logic errors", "\(invariants.eventErrors)" + (invariants.firstEventError.map { " (first: \($0))" } ?? "")),
            ("prices", "\(prices.instanceType): Spot \(prices.spotPerHour) \(c)/h [\(prices.spotOrigin)], On-Demand \(prices.onDemandPerHour) \(c)/h [\(prices.onDemandOrigin)]"),
        ]
        let width = rows.map { $0.0.count }.max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }.joined(separator: "\n")
    }

    /// One Markdown table comparing policies on the same scenario.
    public static func comparison(_ reports: [SimulationReport]) -> String {
        guard let first = reports.first else { return "" }
        let c = first.prices.currency
        var out = "| policy | total cost (\(c)) | per 1,000 images | idle vCPU-min after drain (per run) | Spot share | makespan p50 / max | reclaimed / fallen back | failed chunks | overshoot after alarm |\n"
        out += "|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
        for r in reports {
            var overshoot = "no alarm"
            if let cost = r.budget.overshootCost {
                overshoot = "\(Fmt.money(cost)) \(c) = \(Fmt.num(r.budget.overshootSecondsOfFleetCost ?? 0, 0)) s of fleet cost" + (r.budget.killSwitch ? "" : " (no kill-switch)")
            }
            out += "| \(r.policy) | \(Fmt.money(r.totalCost)) | \(Fmt.money(r.costPer1000Images)) | \(Fmt.num(r.idleVcpuMinutesAfterDrain, 1)) (\(Fmt.num(r.idleVcpuMinutesPerRun, 2))) | \(Fmt.num(r.spotWorkShare * 100, 1)) % | \(Fmt.duration(r.makespan.p50)) / \(Fmt.duration(r.makespan.max)) | \(r.attemptsReclaimed) / \(r.chunksFallenBack) | \(r.chunksFailed) | \(overshoot) |\n"
        }
        return out
    }
}

/// Number formatting without Foundation's formatters.
enum Fmt {
    static func num(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (abs(value) * scale).rounded() / scale
        var whole = String(Int(rounded.rounded(.down)))
        if decimals > 0 {
            let fraction = Int(((rounded - rounded.rounded(.down)) * scale).rounded())
            var digits = String(fraction)
            while digits.count < decimals { digits = "0" + digits }
            whole += "." + digits
        }
        return (value < 0 && rounded > 0 ? "-" : "") + whole
    }
    static func money(_ value: Double) -> String { num(value, abs(value) < 10 ? 4 : 2) }
    static func duration(_ seconds: Double) -> String {
        if seconds < 120 { return num(seconds, 0) + " s" }
        if seconds < 7200 { return num(seconds / 60, 1) + " min" }
        if seconds < 172_800 { return num(seconds / 3600, 1) + " h" }
        return num(seconds / 86_400, 1) + " d"
    }
}

/// An SVG chart of capacity (Spot and On-Demand vCPUs) and queue depth (RUNNABLE + RUNNING chunks) over time, one
/// panel per report.
public enum SimulationChart {
    public static func svg(_ reports: [SimulationReport]) -> String {
        let width = 960.0, panel = 200.0, left = 60.0, right = 20.0, top = 30.0
        let height = top + Double(reports.count) * (panel + 40) + 10
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" font-family="sans-serif" font-size="11">"#
        out += #"<rect width="100%" height="100%" fill="white"/>"#
        out += #"<text x="\#(left)" y="18" font-size="13">Capacity (vCPUs: Spot blue, On-Demand orange) and queue depth (chunks waiting or running: grey) over time</text>"#
        for (index, report) in reports.enumerated() {
            let y0 = top + Double(index) * (panel + 40)
            let samples = report.samples
            let tMax = max(1, samples.last?.t ?? 1)
            let vMax = Double(max(1, samples.map { $0.spotVcpus + $0.onDemandVcpus }.max() ?? 1))
            let qMax = Double(max(1, samples.map { $0.runnable + $0.running }.max() ?? 1))
            func x(_ t: Double) -> Double { left + (width - left - right) * t / tMax }
            func line(_ values: [Double], scale: Double, color: String, dash: Bool = false) -> String {
                let points = zip(samples, values).map { "\(Fmt.num(x($0.t), 1)),\(Fmt.num(y0 + panel - panel * $1 / scale, 1))" }
                return #"<polyline fill="none" stroke="\#(color)" stroke-width="1.2"\#(dash ? #" stroke-dasharray="3,2""# : "") points="\#(points.joined(separator: " "))"/>"#
            }
            out += ##"<rect x="\##(left)" y="\##(y0)" width="\##(width - left - right)" height="\##(panel)" fill="none" stroke="#999"/>"##
            out += #"<text x="\#(left + 4)" y="\#(y0 + 14)">\#(report.scenario) · \#(report.policy) · seed \#(report.seed) · total \#(Fmt.money(report.totalCost)) \#(report.prices.currency)</text>"#
            out += ##"<text x="4" y="\##(y0 + 10)">\##(Int(vMax)) vCPU</text><text x="4" y="\##(y0 + 24)" fill="#777">\##(Int(qMax)) chunks</text>"##
            out += #"<text x="\#(width - right - 60)" y="\#(y0 + panel + 14)">\#(Fmt.duration(tMax))</text><text x="\#(left)" y="\#(y0 + panel + 14)">0</text>"#
            out += line(samples.map { Double($0.runnable + $0.running) }, scale: qMax, color: "#999", dash: true)
            out += line(samples.map { Double($0.spotVcpus) }, scale: vMax, color: "#1f77b4")
            out += line(samples.map { Double($0.onDemandVcpus) }, scale: vMax, color: "#ff7f0e")
        }
        return out + "</svg>\n"
    }
}
