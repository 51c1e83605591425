#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `report.html`: one self-contained page (inline CSS and SVG, no script, no network) with a map of the sites,
/// per-species and per-camera charts and tables, the first visits, exclusions and failed chunks.
enum ReportHTML {
    static func render(_ r: Stage3Report, visits: [Visit], limit: Int) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>Hugin report: run \(HTML.escape(r.runID))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
        th{background:#f3f3f3}td.n{text-align:right}.warn{background:#fff3cd;padding:.6em;border:1px solid #e0c060}
        .site{fill:#2a7ab0;fill-opacity:.7;stroke:#123}.bar{fill:#4a9a5a}svg text{font-size:11px}
        </style></head><body>
        <h1>Hugin report: run \(HTML.escape(r.runID))</h1>
        <p id="summary">\(r.totalObservations) visits (\(r.needsReviewCount) need review) from \(r.detectionsUsed) \
        detections in \(r.mediaFiles) media files, \(r.sites.count) sites, \(r.speciesSummary.count) species, \
        \(r.cameraSummary.count) cameras. Time range: \(r.timeRange.map { HTML.escape($0.start + " – " + $0.end) } ?? "none"). \
        Generated \(HTML.escape(r.generatedAt)).</p>

        """
        // Failed chunks first: never hidden.
        h += "<h2>Chunks</h2>\n"
        if r.failedChunks.isEmpty {
            h += "<p id=\"failed-chunks\">All \(r.chunksRead.count) chunks were read; none failed.</p>\n"
        } else {
            h += "<div class=\"warn\" id=\"failed-chunks\"><p>\(r.failedChunks.count) chunk(s) failed or are missing; "
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
            h += "<p>\(r.unlocatedObservations) visit(s) come from media without a GPS position (no site).</p>\n"
        }

        let species = r.speciesSummary.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count
            : $0.key < $1.key }
        h += "<h2>Species</h2>\n" + bars(id: "species-chart", species.map { ($0.key, $0.value.count) })
        h += table(id: "species-table", ["Species", "Visits", "Total duration (s)", "Detections", "Max conf.",
                                         "Mean conf."],
                   species.map { [$0.key, "\($0.value.count)", Fixed.trimmed($0.value.totalDuration, 1),
                                  "\($0.value.frameCount)", Fixed.format($0.value.maxConfidence, 3),
                                  Fixed.format($0.value.avgConfidence, 3)] }, numeric: [1, 2, 3, 4, 5])

        let cameras = r.cameraSummary.sorted { $0.key < $1.key }
        h += "<h2>Cameras</h2>\n" + bars(id: "camera-chart", cameras.map { ($0.key, $0.value.count) })
        h += table(id: "cameras-table", ["Camera", "Visits", "Species"],
                   cameras.map { [$0.key, "\($0.value.count)", $0.value.species.joined(separator: ", ")] },
                   numeric: [1])

        if !r.timeZones.isEmpty {
            h += "<h2>Time zones</h2>\n"
            h += table(id: "time-zones-table", ["Camera", "Zone", "How it was found", "Media files"],
                       r.timeZones.map { [$0.cameraID, $0.zone ?? "unknown", $0.explanation, "\($0.mediaFiles)"] },
                       numeric: [3])
        }

        h += "<h2>Visits</h2>\n"
        if r.totalObservations > visits.count {
            h += "<p>The first \(visits.count) of \(r.totalObservations) visits; all are in visits.csv and "
                + "compressed_observations.json.</p>\n"
        }
        h += table(id: "visits-table", ["Start", "End", "Duration (s)", "Site", "Camera", "Species", "Frames",
                                        "Max conf.", "Review"],
                   visits.map { v in
                       [Timestamp.format(v.start), Timestamp.format(v.end), Fixed.trimmed(v.durationSeconds, 1),
                        v.siteID ?? "–", v.cameraID, v.species, "\(v.frameCount)", Fixed.format(v.maxConfidence, 3),
                        v.needsReview ? "yes" : ""]
                   }, numeric: [2, 6, 7])

        let x = r.excluded
        h += "<h2>Excluded and errors</h2>\n"
        h += table(id: "excluded-table", ["What", "Count"], [
            ["Detections below min_confidence \(Fixed.trimmed(r.compressionStats.minConfidence, 3))",
             "\(x.belowMinConfidence)"],
            ["Detections without a capture time", "\(x.withoutTimestamp)"],
            ["Media without a capture time (not in media.csv)", "\(x.mediaWithoutTimestamp)"],
            ["Records with an invalid GPS position", "\(x.invalidGPSRecords)"],
            ["Malformed Stage 1 lines", "\(x.malformedLines)"],
            ["Media files with errors", "\(r.filesWithErrors)"],
        ], numeric: [1])
        if !r.errorSamples.isEmpty {
            h += "<ul id=\"error-samples\">" + r.errorSamples.map { "<li>" + HTML.escape($0) + "</li>" }.joined()
                + "</ul>\n"
        }
        let c = r.compressionStats
        h += "<p>Visits: \(HTML.escape(c.visitSemantics)) (gap \(Fixed.trimmed(c.compressionWindowMinutes, 3)) min). "
            + "Sites: points within \(Fixed.trimmed(c.radiusMeters, 3)) m (Haversine) are connected. Review flag: "
            + "max confidence below \(Fixed.trimmed(c.reviewThreshold, 3)).</p>\n</body></html>\n"
        return h
    }

    static func table(id: String, _ header: [String], _ rows: [[String]], numeric: Set<Int>) -> String {
        var t = "<table id=\"\(id)\"><thead><tr>" + header.map { "<th>" + HTML.escape($0) + "</th>" }.joined()
            + "</tr></thead><tbody>\n"
        for row in rows {
            t += "<tr>" + row.enumerated().map { i, cell in
                (numeric.contains(i) ? "<td class=\"n\">" : "<td>") + HTML.escape(cell) + "</td>"
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
                + "r=\"\(Fixed.format(r, 1))\"><title>" + HTML.escape(site.displayName + ": \(site.visits) visits")
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
