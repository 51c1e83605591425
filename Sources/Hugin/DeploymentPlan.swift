import OdinKit

/// Deployments: a camera at one site for one time span (Camtrap DP's unit of effort).
///
/// Input: per (GPS location, camera, run) the first and last capture time of its media. Locations are folded into
/// their sites; then, per camera, the (site, run) spans are ordered by start, and consecutive spans at the same site
/// form one deployment: a camera that stays at a site over many upload windows (runs) is one deployment, and a
/// camera moved A → B → A gets three. Within one run a camera has one span per site, so a single run gets exactly
/// one deployment per (site, camera), as before.
///
/// Ids: `camera@site` (`camera@unlocated` without GPS) when the pair has one deployment, else `camera@site#1`,
/// `#2`, … in time order. Media, observations and visits find their deployment by (site, camera, time).
struct DeploymentPlan {
    /// Per (location, camera, input run): first and last capture time, and whether some media's zone is unknown.
    struct RangeKey: Hashable {
        var location: Int32
        var camera: Int32
        var run: Int32
    }

    struct Range {
        var start: Double
        var end: Double
        var floating = false
        /// UTC offsets (minutes) of the camera's local time at `start` and `end` (`LocalTime` markers otherwise).
        var startOffset = LocalTime.unknown
        var endOffset = LocalTime.unknown
    }

    private struct Span {
        var site: Int32
        var start: Double
        var end: Double
        var floating: Bool
        var runs: Set<Int32>
        var startOffset = LocalTime.unknown
        var endOffset = LocalTime.unknown
    }

    /// Sorted by id.
    private(set) var deployments: [Stage3Writer.Deployment] = []
    /// The runs (input indices) each deployment holds, parallel to `deployments`.
    private(set) var runsOfDeployment: [[Int32]] = []
    /// (site, camera) → its deployments' (start, end, index into `deployments`), by start.
    private var spansOfPair: [Int64: [(start: Double, end: Double, index: Int)]] = [:]

    static func pairKey(site: Int32, camera: Int32) -> Int64 {
        Int64(site) << 32 | Int64(UInt32(bitPattern: camera))
    }

    /// - Parameters:
    ///   - siteOfLocation: site index per location index; `sites` the registered sites by index.
    init(ranges: [RangeKey: Range], siteOfLocation: [Int32], sites: [RegisteredSite], cameras: [String]) {
        // Fold locations into sites: (site, camera, run) → span.
        var folded: [RangeKey: Span] = [:]
        for (key, range) in ranges {
            let site = key.location >= 0 ? siteOfLocation[Int(key.location)] : -1
            let k = RangeKey(location: site, camera: key.camera, run: key.run)
            if var s = folded[k] {
                if range.start < s.start { (s.start, s.startOffset) = (range.start, range.startOffset) }
                if range.end > s.end { (s.end, s.endOffset) = (range.end, range.endOffset) }
                s.floating = s.floating || range.floating
                folded[k] = s
            } else {
                folded[k] = Span(site: site, start: range.start, end: range.end, floating: range.floating,
                                 runs: [key.run], startOffset: range.startOffset, endOffset: range.endOffset)
            }
        }
        // Per camera, in time order (ties by site, then run: never by dictionary order), merge same-site neighbours.
        var byCamera: [Int32: [Span]] = [:]
        for (key, span) in folded { byCamera[key.camera, default: []].append(span) }
        var merged: [(camera: Int32, span: Span)] = []
        for (camera, spans) in byCamera {
            let ordered = spans.sorted {
                ($0.start, $0.end, $0.site, $0.runs.min()!) < ($1.start, $1.end, $1.site, $1.runs.min()!)
            }
            var current: Span? = nil
            for s in ordered {
                if var c = current, c.site == s.site {
                    if s.end > c.end { (c.end, c.endOffset) = (s.end, s.endOffset) }
                    c.floating = c.floating || s.floating
                    c.runs.formUnion(s.runs)
                    current = c
                } else {
                    if let c = current { merged.append((camera, c)) }
                    current = s
                }
            }
            if let c = current { merged.append((camera, c)) }
        }
        // Ids: numbered per (site, camera) in time order when a pair has several.
        var perPair: [Int64: [Span]] = [:]
        for (camera, span) in merged { perPair[Self.pairKey(site: span.site, camera: camera), default: []].append(span) }
        var built: [(Stage3Writer.Deployment, [Int32], Int64)] = []
        for (pair, spans) in perPair {
            let camera = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
            let ordered = spans.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
            for (n, s) in ordered.enumerated() {
                let site: RegisteredSite? = s.site >= 0 ? sites[Int(s.site)] : nil
                var id = Stage3Writer.deploymentID(site: site?.id, camera: cameras[Int(camera)])
                if ordered.count > 1 { id += "#\(n + 1)" }
                var d = Stage3Writer.Deployment(id: id, site: site, camera: cameras[Int(camera)], start: s.start,
                                                end: s.end, startOffset: s.startOffset, endOffset: s.endOffset)
                d.timestampIssues = s.floating
                built.append((d, s.runs.sorted(), pair))
            }
        }
        built.sort { $0.0.id < $1.0.id }
        for (index, (d, runs, pair)) in built.enumerated() {
            deployments.append(d)
            runsOfDeployment.append(runs)
            spansOfPair[pair, default: []].append((d.start, d.end, index))
        }
        for pair in Array(spansOfPair.keys) { spansOfPair[pair]!.sort { $0.start < $1.start } }
    }

    /// The deployment holding a capture at `time` by `camera` at `site` (-1: unlocated): the span containing the
    /// time, else the nearest one.
    func deploymentID(site: Int32, camera: Int32, time: Double, cameras: [String], sites: [RegisteredSite]) -> String {
        guard let spans = spansOfPair[Self.pairKey(site: site, camera: camera)], !spans.isEmpty else {
            return Stage3Writer.deploymentID(site: site >= 0 ? sites[Int(site)].id : nil, camera: cameras[Int(camera)])
        }
        if spans.count == 1 { return deployments[spans[0].index].id }
        var best = spans[0]
        var bestDistance = Double.infinity
        for s in spans {
            if time >= s.start && time <= s.end { return deployments[s.index].id }
            let d = time < s.start ? s.start - time : time - s.end
            if d < bestDistance { bestDistance = d; best = s }
        }
        return deployments[best.index].id
    }

    /// report.json's `deployments`, with run ids for the input indices.
    func spans(runIDs: [String]) -> [Stage3Report.DeploymentSpan] {
        zip(deployments, runsOfDeployment).map { d, runs in
            .init(deploymentID: d.id, siteID: d.site?.id, cameraID: d.camera,
                  start: Timestamp.format(d.start.rounded(.down)), end: Timestamp.format(d.end.rounded(.up)),
                  days: ((d.end - d.start) / 86_400 * 1000).rounded() / 1000, runs: runs.map { runIDs[Int($0)] })
        }
    }
}
