import JSONEscaping
import OdinBasics
import OdinKit

/// One metric value in an EMF line.
public struct Metric: Sendable, Equatable {
    public enum Unit: String, Sendable { case count = "Count", seconds = "Seconds", none = "None" }
    public var name: String
    public var value: Double
    public var unit: Unit
    public init(_ name: String, _ value: Double, _ unit: Unit = .count) {
        self.name = name
        self.value = value
        self.unit = unit
    }
}

/// The metrics port. On Lambda the EMF lines go to stdout and CloudWatch Logs extracts them, so the AWS binding is
/// `EMFMetrics` writing to stdout; no PutMetricData call is needed.
public protocol MetricsSink: Sendable {
    func emit(_ metrics: [Metric], dimensions: [String: String], properties: [String: String])
}

/// Writes CloudWatch Embedded Metric Format lines (one JSON object per line) to a writer.
public struct EMFMetrics: MetricsSink {
    public let namespace: String
    let clock: any WallClock
    let write: @Sendable (String) -> Void

    public init(namespace: String = "OdinsRavne", clock: any WallClock, write: @escaping @Sendable (String) -> Void) {
        self.namespace = namespace
        self.clock = clock
        self.write = write
    }

    public func emit(_ metrics: [Metric], dimensions: [String: String], properties: [String: String]) {
        guard !metrics.isEmpty else { return }
        let timestamp = Int64(clock.now().timeIntervalSince1970 * 1000)
        let dimensionNames = dimensions.keys.sorted().map(JSONString.quoted).joined(separator: ",")
        let definitions = metrics.map { "{\"Name\":\(JSONString.quoted($0.name)),\"Unit\":\"\($0.unit.rawValue)\"}" }
            .joined(separator: ",")
        var line = "{\"_aws\":{\"Timestamp\":\(timestamp),\"CloudWatchMetrics\":[{\"Namespace\":\(JSONString.quoted(namespace)),"
        line += "\"Dimensions\":[[\(dimensionNames)]],\"Metrics\":[\(definitions)]}]}"
        for (key, value) in dimensions.sorted(by: { $0.key < $1.key }) {
            line += ",\(JSONString.quoted(key)):\(JSONString.quoted(value))"
        }
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) where dimensions[key] == nil {
            line += ",\(JSONString.quoted(key)):\(JSONString.quoted(value))"
        }
        for metric in metrics {
            line += ",\(JSONString.quoted(metric.name)):\(JSONText.number(metric.value))"
        }
        write(line + "}")
    }
}

/// Minimal JSON text helpers (no encoder needed for flat lines).
enum JSONText {

    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
