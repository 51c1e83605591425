/// JSON string literals for the places that write flat JSON by hand (the Lambda runtime's log lines and error
/// bodies, EMF metric lines, Stage 3 writers, stack parameters): quotes, backslashes and control characters escaped
/// (RFC 8259 §7), everything else copied as is. Foundation-free, so the Lambda runtime can use it.
public enum JSONString {
    /// Appends `value` as a quoted JSON string.
    public static func append(_ value: String, to output: inout String) {
        output += "\""
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            output += value
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": output += "\\\""
                case "\\": output += "\\\\"
                case "\n": output += "\\n"
                case "\r": output += "\\r"
                case "\t": output += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default:
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    /// `value` as a quoted JSON string.
    public static func quoted(_ value: String) -> String {
        var output = ""
        append(value, to: &output)
        return output
    }
}
