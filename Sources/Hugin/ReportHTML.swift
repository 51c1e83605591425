import FoundationEssentials
import OdinBasics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `report.html`: one self-contained page (inline CSS, SVG and JPEG thumbnails as `data:` URIs; no script, no
/// network) with a map of the sites, species × site, effort per deployment, activity by local hour, per-species and
/// per-camera charts and tables, the first visits with a thumbnail of their best detection, exclusions and failed
/// chunks. Every time is shown in UTC and in the camera's local time (or says the zone is unknown); every count
/// names its unit (media files, frames, boxes, visits), defined at the top.
enum ReportHTML {
    static func render(_ r: Stage3Report, visits: [Visit], thumbnails: [String: [UInt8]] = [:]) -> String {
        let frames = r.detectionsUsed
        let boxes = r.boxesUsed.map { " (" + Plural.count($0, "box", "boxes") + ")" } ?? ""
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>Hugin report: run \(HTML.escape(r.runID))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
        th{background:#f3f3f3}td.n{text-align:right}.warn{background:#fff3cd;padding:.6em;border:1px solid #e0c060}
        .site{fill:#2a7ab0;fill-opacity:.7;stroke:#123}.bar{fill:#4a9a5a}svg text{font-size:11px}
        img.thumb{display:block;max-width:160px;max-height:160px}dl.defs dt{font-weight:600}
        </style></head><body>
        <h1>Hugin report: run \(HTML.escape(r.runID))</h1>
        <p id="summary">\(Plural.count(r.totalObservations, "visit")) (\(r.needsReviewCount) \
        \(r.needsReviewCount == 1 ? "needs" : "need") review) from \(Plural.count(frames, "frame")) with \
        detections\(boxes) in \(Plural.count(r.mediaFiles, "media file")); \(Plural.count(r.sites.count, "site")), \
        \(Plural.count(r.speciesSummary.count, "species", "species")), \
        \(Plural.count(r.cameraSummary.count, "camera")) with visits. Time range of the visits (UTC): \
        \(r.timeRange.map { HTML.escape(LocalTime.wallClock(Timestamp.parse($0.start) ?? 0) + " – "
            + LocalTime.wallClock(Timestamp.parse($0.end) ?? 0)) } ?? "none"); local times per camera are in the \
        Effort and Visits tables. Generated \(HTML.escape(r.generatedAt)) (UTC).</p>
        <dl class="defs" id="count-definitions">
        <dt>Media file</dt><dd>One image or video file.</dd>
        <dt>Frame</dt><dd>One still image or one sampled video frame; counted once per species seen in it.</dd>
        <dt>Box</dt><dd>One bounding box the detector drew, at or above min_confidence \
        \(Fixed.trimmed(r.compressionStats.minConfidence, 3)).</dd>
        <dt>Visit</dt><dd>\(HTML.escape(r.compressionStats.visitSemantics)) (gap \
        \(Fixed.trimmed(r.compressionStats.compressionWindowMinutes, 3)) min).</dd>
        <dt>Local time</dt><dd>The camera's wall-clock time: UTC plus the offset of the camera's time zone in force at \
        the capture (see Time zones). Where the zone is unknown, stills keep the camera clock and UTC is unknown; \
        videos (whose creation_time is UTC) take their camera's zone the same way (no EXIF offset) and have no local \
        time where none is found.</dd>
        </dl>

        """
        // Failed chunks first: never hidden.
        h += "<h2>Chunks</h2>\n"
        if r.failedChunks.isEmpty {
            h += "<p id=\"failed-chunks\">" + (r.chunksRead.count == 1 ? "The 1 chunk was read; it did not fail."
                : "All \(r.chunksRead.count) chunks were read; none failed.") + "</p>\n"
        } else {
            h += "<div class=\"warn\" id=\"failed-chunks\"><p>\(Plural.count(r.failedChunks.count, "chunk")) "
                + (r.failedChunks.count == 1 ? "failed or is" : "failed or are") + " missing; "
                + "their media are <b>not</b> in this report:</p><ul>"
            for p in r.failedChunks { h += "<li>chunk \(p.chunk): \(HTML.escape(p.reason))</li>" }
            h += "</ul></div>\n"
        }
        if !r.mergeCandidates.isEmpty {
            h += "<div class=\"warn\" id=\"merge-candidates\"><p>This run's points connect registered sites that "
                + "stay separate until merged explicitly (<code>odin sites merge A B</code>):</p><ul>"
            for group in r.mergeCandidates { h += "<li>" + HTML.escape(group.joined(separator: " + ")) + "</li>" }
            h += "</ul></div>\n"
        }

        h += "<h2>Sites</h2>\n" + map(r.sites)
        h += table(id: "sites-table", ["Site", "Name", "Latitude", "Longitude", "Visits", "Species", "Cameras"],
                   r.sites.map { s in
                       [s.siteID + (s.isNew ? " (new)" : ""), s.name ?? "(unnamed)", Fixed.format(s.latitude, 6),
                        Fixed.format(s.longitude, 6), "\(s.visits)", s.species.joined(separator: ", "),
                        s.cameras.joined(separator: ", ")]
                   }, numeric: [2, 3, 4])
        if r.unlocatedObservations > 0 {
            h += "<p>\(Plural.count(r.unlocatedObservations, "visit")) "
                + (r.unlocatedObservations == 1 ? "comes" : "come") + " from media without a GPS position (no site).</p>\n"
        }

        let species = r.speciesSummary.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count
            : $0.key < $1.key }
        h += speciesBySite(r, species: species.map(\.key))
        h += "<h2>Species</h2>\n" + bars(id: "species-chart", species.map { ($0.key, $0.value.count) })
        h += table(id: "species-table", ["Species", "Visits", "Frames", "Boxes", "Total visit duration (s)",
                                         "Max conf.", "Mean conf. (per frame)"],
                   species.map { [$0.key, "\($0.value.count)", "\($0.value.frameCount)",
                                  $0.value.boxes.map(String.init) ?? "–", Fixed.trimmed($0.value.totalDuration, 1),
                                  Fixed.format($0.value.maxConfidence, 3), Fixed.format($0.value.avgConfidence, 3)] },
                   numeric: [1, 2, 3, 4, 5, 6])

        let cameras = r.cameraSummary.sorted { $0.key < $1.key }
        h += "<h2>Cameras</h2>\n" + bars(id: "camera-chart", cameras.map { ($0.key, $0.value.count) })
        h += table(id: "cameras-table", ["Camera", "Visits", "Species"],
                   cameras.map { [$0.key, "\($0.value.count)", $0.value.species.joined(separator: ", ")] },
                   numeric: [1])

        h += effort(r)
        h += activity(r)

        if !r.timeZones.isEmpty {
            h += "<h2>Time zones</h2>\n"
            h += table(id: "time-zones-table", ["Camera", "Zone", "How it was found", "Media files"],
                       r.timeZones.map { [$0.cameraID, $0.zone ?? "unknown", $0.explanation, "\($0.mediaFiles)"] },
                       numeric: [3])
        }

        h += "<h2>Visits</h2>\n"
        if r.totalObservations > visits.count {
            h += "<p>The first \(visits.count) of \(Plural.count(r.totalObservations, "visit")); all are in visits.csv "
                + "and compressed_observations.json.</p>\n"
        }
        if let t = r.thumbnails, t.notWritten + t.unreadable > 0 {
            h += "<p id=\"thumbnail-note\">Thumbnails: \(t.embedded) shown; \(t.notWritten) listed "
                + (t.notWritten == 1 ? "visit has" : "visits have") + " none (the worker ran with --no-thumbnails, or "
                + "before thumbnails existed)" + (t.unreadable > 0 ? "; \(t.unreadable) could not be read" : "")
                + ".</p>\n"
        }
        h += table(id: "visits-table", ["Best detection", "Start (UTC)", "Start (local)", "End (UTC)", "End (local)",
                                        "Duration (s)", "Site", "Camera", "Species", "Frames", "Boxes", "Max conf.",
                                        "Review"],
                   visits.map { v in
                       let start = LocalTime.cells(v.start, offset: v.startOffset)
                       let end = LocalTime.cells(v.end, offset: v.endOffset)
                       return [thumbnailCell(v, thumbnails[v.id]), start.utc, start.local, end.utc, end.local,
                               Fixed.trimmed(v.durationSeconds, 1), v.siteID ?? "–", v.cameraID, v.species,
                               "\(v.frameCount)", "\(v.boxes)", Fixed.format(v.maxConfidence, 3),
                               v.needsReview ? "yes" : ""]
                   }, numeric: [5, 9, 10, 11], html: [0])

        let x = r.excluded
        h += "<h2>Excluded and errors</h2>\n"
        h += table(id: "excluded-table", ["What", "Count"], [
            ["Boxes below min_confidence \(Fixed.trimmed(r.compressionStats.minConfidence, 3))",
             "\(x.belowMinConfidence)"],
            ["Frames with detections but no capture time (counted once per species)", "\(x.withoutTimestamp)"],
            ["Media files without a capture time (not in media.csv)", "\(x.mediaWithoutTimestamp)"],
            ["Stage 1 records with an invalid GPS position", "\(x.invalidGPSRecords)"],
            ["Malformed Stage 1 lines", "\(x.malformedLines)"],
            ["Media files with errors", "\(r.filesWithErrors)"],
        ], numeric: [1])
        if !r.errorSamples.isEmpty {
            h += "<ul id=\"error-samples\">" + r.errorSamples.map { "<li>" + HTML.escape($0) + "</li>" }.joined()
                + "</ul>\n"
        }
        let c = r.compressionStats
        h += "<p>Sites: points within \(Fixed.trimmed(c.radiusMeters, 3)) m (Haversine) are connected. Review flag: "
            + "max confidence below \(Fixed.trimmed(c.reviewThreshold, 3)).</p>\n</body></html>\n"
        return h
    }

    /// The visit's thumbnail as an inline JPEG, or why there is none.
    static func thumbnailCell(_ v: Visit, _ jpeg: [UInt8]?) -> String {
        guard let jpeg else { return "<span class=\"no-thumb\">no thumbnail</span>" }
        return "<img class=\"thumb\" alt=\"" + HTML.escape(v.species + " at " + v.cameraID) + "\" src=\"data:image/jpeg;base64,"
            + Base64.encode(jpeg) + "\">"
    }

    /// Rows: species; columns: sites (and visits without a site); cells: visits.
    static func speciesBySite(_ r: Stage3Report, species: [String]) -> String {
        guard let table = r.speciesBySite, !species.isEmpty else { return "" }
        let noSite = table.values.contains { $0[""] != nil }
        var header = ["Species"] + r.sites.map(\.displayName)
        if noSite { header.append("No GPS") }
        let rows = species.map { name -> [String] in
            let counts = table[name] ?? [:]
            var row = [name] + r.sites.map { "\(counts[$0.siteID] ?? 0)" }
            if noSite { row.append("\(counts[""] ?? 0)") }
            return row
        }
        return "<h2>Species × site (visits)</h2>\n"
            + ReportHTML.table(id: "species-site-table", header, rows, numeric: Set(1..<header.count))
    }

    static func effort(_ r: Stage3Report) -> String {
        guard let effort = r.effort else { return "" }
        var h = "<h2>Effort</h2>\n<p id=\"effort-definition\">" + HTML.escape(Stage3Report.Effort.definition)
            + "</p>\n"
        func local(_ time: String, _ offset: String?, clockOnly: Bool) -> String {
            guard let t = Timestamp.parse(time) else { return "" }
            if clockOnly { return LocalTime.wallClock(t) + " (camera clock)" }
            guard let offset, let m = LocalTime.offsetMinutes(offset) else { return "unknown (no time zone)" }
            return LocalTime.wallClock(t + Double(m) * 60) + " " + LocalTime.label(m)
        }
        h += table(id: "effort-table", ["Deployment", "Camera", "Site", "First media (UTC)", "First media (local)",
                                        "Last media (UTC)", "Last media (local)", "Trap-nights", "Visits",
                                        "Visits per 100 trap-nights"],
                   effort.map { e in
                       let utc = { (t: String) in e.cameraClockOnly ? "unknown (no time zone)"
                           : Timestamp.parse(t).map(LocalTime.wallClock) ?? t }
                       return [e.deploymentID, e.cameraID, e.siteID ?? "–", utc(e.start),
                               local(e.start, e.startUTCOffset, clockOnly: e.cameraClockOnly), utc(e.end),
                               local(e.end, e.endUTCOffset, clockOnly: e.cameraClockOnly), Fixed.format(e.trapNights, 2),
                               "\(e.visits)", e.visitsPer100TrapNights.map { Fixed.format($0, 1) } ?? "–"]
                   }, numeric: [7, 8, 9])
        return h
    }

    /// 24 vertical bars: visits by the local hour of their start.
    static func activity(_ r: Stage3Report) -> String {
        guard let a = r.activityByLocalHour, a.visits.count == 24 else { return "" }
        var h = "<h2>Activity by local hour of day</h2>\n"
        let top = max(1, a.visits.max() ?? 0)
        let barWidth = 24, left = 40, chartHeight = 160, width = left + 24 * barWidth + 10, height = chartHeight + 40
        var s = "<svg id=\"activity-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" "
            + "height=\"\(height)\" role=\"img\" aria-label=\"Visits by local hour of day\">"
            + "<text x=\"\(left - 6)\" y=\"14\" text-anchor=\"end\">\(top)</text>"
            + "<text x=\"\(left - 6)\" y=\"\(chartHeight + 10)\" text-anchor=\"end\">0</text>"
            + "<line x1=\"\(left)\" y1=\"\(chartHeight + 10)\" x2=\"\(left + 24 * barWidth)\" y2=\"\(chartHeight + 10)\" "
            + "stroke=\"#222\"/>"
        for (hour, count) in a.visits.enumerated() {
            let barHeight = count * chartHeight / top
            let x = left + hour * barWidth
            s += "<rect class=\"bar\" data-hour=\"\(hour)\" x=\"\(x + 2)\" y=\"\(chartHeight + 10 - barHeight)\" "
                + "width=\"\(barWidth - 4)\" height=\"\(barHeight)\"><title>\(hour):00–\(hour):59 local: "
                + Plural.count(count, "visit") + "</title></rect>"
                + "<text x=\"\(x + barWidth / 2)\" y=\"\(chartHeight + 24)\" text-anchor=\"middle\">\(hour)</text>"
        }
        s += "<text x=\"\(left + 12 * barWidth)\" y=\"\(chartHeight + 38)\" text-anchor=\"middle\">local hour of the "
            + "visit's start</text></svg>\n"
        h += s
        h += "<p id=\"activity-note\">Visits by the hour of their start in the camera's local time; "
            + Plural.count(a.visits.reduce(0, +), "visit") + " charted"
            + (a.unknownLocalTime > 0 ? ", \(Plural.count(a.unknownLocalTime, "visit")) left out (local time unknown)"
                : "") + ".</p>\n"
        return h
    }

    /// `html` columns hold markup already (escaped by their producer).
    static func table(id: String, _ header: [String], _ rows: [[String]], numeric: Set<Int>,
                      html: Set<Int> = []) -> String {
        var t = "<table id=\"\(id)\"><thead><tr>" + header.map { "<th>" + HTML.escape($0) + "</th>" }.joined()
            + "</tr></thead><tbody>\n"
        for row in rows {
            t += "<tr>" + row.enumerated().map { i, cell in
                (numeric.contains(i) ? "<td class=\"n\">" : "<td>") + (html.contains(i) ? cell : HTML.escape(cell))
                    + "</td>"
            }.joined() + "</tr>\n"
        }
        return t + "</tbody></table>\n"
    }

    /// Horizontal bar chart.
    static func bars(id: String, _ items: [(String, Int)]) -> String {
        guard let top = items.map(\.1).max(), top > 0 else { return "<p id=\"\(id)\">No visits.</p>\n" }
        let rowHeight = 18, labelWidth = 160, width = 640
        var s = "<svg id=\"\(id)\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\""
            + "\(items.count * rowHeight + 4)\" role=\"img\">"
        for (i, item) in items.enumerated() {
            let y = i * rowHeight + 2
            let w = max(1, (width - labelWidth - 60) * item.1 / top)
            s += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 13)\" text-anchor=\"end\">" + HTML.escape(item.0) + "</text>"
                + "<rect class=\"bar\" x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(w)\" height=\"\(rowHeight - 4)\"/>"
                + "<text x=\"\(labelWidth + w + 4)\" y=\"\(y + 13)\">\(item.1)</text>"
        }
        return s + "</svg>\n"
    }

    /// The sites on a local equirectangular projection around their centroid (longitudes unwrapped around it, so a
    /// cluster across the antimeridian stays together); circle area grows with the visit count.
    static func map(_ sites: [Stage3Report.SiteEntry]) -> String {
        let width = 800.0, height = 480.0, pad = 40.0
        guard !sites.isEmpty else {
            return "<svg id=\"site-map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"60\">"
                + "<text x=\"10\" y=\"30\">No sites: no media in this run had a GPS position.</text></svg>\n"
        }
        let center = Haversine.centroid(sites.map { GeoPoint(latitude: $0.latitude, longitude: $0.longitude) })
            ?? GeoPoint(latitude: 0, longitude: 0)
        let k = max(0.05, cos(center.latitude * Double.pi / 180))
        let projected = sites.map { s -> (Double, Double) in
            var dLon = s.longitude - center.longitude
            if dLon > 180 { dLon -= 360 }
            if dLon < -180 { dLon += 360 }
            return (dLon * k, s.latitude)
        }
        let xs = projected.map(\.0), ys = projected.map(\.1)
        let spanX = max(xs.max()! - xs.min()!, 1e-4), spanY = max(ys.max()! - ys.min()!, 1e-4)
        let scale = min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY)
        let midX = (xs.max()! + xs.min()!) / 2, midY = (ys.max()! + ys.min()!) / 2
        let most = Double(max(1, sites.map(\.visits).max()!))
        var s = "<svg id=\"site-map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" "
            + "height=\"\(Int(height))\" role=\"img\" aria-label=\"Map of sites\">"
            + "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#eef4ee\"/>"
        for (site, p) in zip(sites, projected) {
            let x = width / 2 + (p.0 - midX) * scale
            let y = height / 2 - (p.1 - midY) * scale
            let r = 4 + 14 * (Double(site.visits) / most).squareRoot()
            s += "<g class=\"site-marker\" data-site=\"\(HTML.escape(site.siteID))\">"
                + "<circle class=\"site\" cx=\"\(Fixed.format(x, 1))\" cy=\"\(Fixed.format(y, 1))\" "
                + "r=\"\(Fixed.format(r, 1))\"><title>" + HTML.escape(site.displayName + ": "
                    + Plural.count(site.visits, "visit"))
                + "</title></circle><text x=\"\(Fixed.format(x + r + 3, 1))\" y=\"\(Fixed.format(y + 4, 1))\">"
                + HTML.escape(site.displayName) + "</text></g>"
        }
        // Scale bar: metres per pixel from the degree scale.
        let metersPerPixel = (Double.pi / 180) * Haversine.earthRadiusMeters / scale
        let nice = [1.0, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000,
                    500_000, 1_000_000, 2_000_000]
        let meters = nice.last { $0 / metersPerPixel <= 150 } ?? nice[0]
        let px = meters / metersPerPixel
        s += "<line x1=\"20\" y1=\"\(Int(height) - 20)\" x2=\"\(Fixed.format(20 + px, 1))\" y2=\"\(Int(height) - 20)\" "
            + "stroke=\"#222\" stroke-width=\"2\"/><text x=\"20\" y=\"\(Int(height) - 26)\">"
            + (meters >= 1000 ? "\(Int(meters / 1000)) km" : "\(Int(meters)) m") + "</text>"
        return s + "</svg>\n"
    }
}
