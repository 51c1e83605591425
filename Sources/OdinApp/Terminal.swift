import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// stdout/stderr helpers: text, JSON, and a progress bar on stderr.
package enum Terminal {
    package static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    package static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Prints `value` as pretty JSON (sorted keys) on stdout.
    package static func printJSON(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys,
                                                                              .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// A progress bar on stderr: redrawn in place on a terminal, one line per 10 % otherwise. Thread-safe.
package final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let total: Int64
    private let unit: String
    private let lock = NSLock()
    private var done: Int64 = 0
    private var lastDecile = -1
    private let enabled: Bool

    package init(_ label: String, total: Int64, unit: String = "", enabled: Bool = true) {
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
        self.enabled = enabled
    }

    package func advance(by amount: Int64) {
        lock.lock()
        done += amount
        let value = done
        lock.unlock()
        draw(value)
    }

    package func finish() {
        guard enabled else { return }
        lock.lock()
        let value = done
        lock.unlock()
        if Terminal.stderrIsTerminal { draw(value, force: true); FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(_ value: Int64, force: Bool = false) {
        guard enabled else { return }
        let fraction = total > 0 ? min(1, Double(value) / Double(total)) : 1
        if Terminal.stderrIsTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let text = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(Self.format(value, unit))/\(Self.format(total, unit))"
            FileHandle.standardError.write(Data(text.utf8))
        } else {
            let decile = Int(fraction * 10)
            lock.lock()
            let show = decile > lastDecile
            if show { lastDecile = decile }
            lock.unlock()
            if show { Terminal.error("\(label): \(decile * 10)% (\(Self.format(value, unit))/\(Self.format(total, unit)))") }
        }
    }

    package static func format(_ value: Int64, _ unit: String) -> String {
        guard unit == "B" else { return "\(value)\(unit.isEmpty ? "" : " " + unit)" }
        if value >= 1 << 30 { return String(format: "%.2f GiB", Double(value) / Double(1 << 30)) }
        if value >= 1 << 20 { return String(format: "%.1f MiB", Double(value) / Double(1 << 20)) }
        if value >= 1 << 10 { return String(format: "%.1f KiB", Double(value) / 1024) }
        return "\(value) B"
    }
}
