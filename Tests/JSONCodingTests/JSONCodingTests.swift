import Foundation
import JSONCoding
import OdinBasics
import Testing

/// JSONCoding against Foundation's JSONEncoder/JSONDecoder (the coder it replaces in the Lambda functions): the same
/// bytes for the options in use (.sortedKeys, .sortedKeys + .prettyPrinted), the same decoded values, errors with
/// the coding path of the offending value.
@Suite struct JSONCodingTests {
    struct Inner: Codable, Equatable {
        var z: Int
        var a: String?
        var nested: [[Int?]]?
    }

    enum Kind: String, Codable { case first, second }

    struct Sample: Codable, Equatable {
        var double: Double
        var doubles: [Double]
        var float: Float
        var int8: Int8
        var uint64: UInt64
        var int64: Int64
        var text: String
        var flag: Bool
        var empty: [String: Int]
        var emptyList: [Int]
        var none: Inner?
        var inner: Inner
        var map: [String: Inner]
        var kind: Kind
        var optionalList: [String?]
        var intKeys: [Int: String]
    }

    static let sample = Sample(
        double: 0.1, doubles: [1, 0.1, 1e20, 1e21, 1e-5, 123456789012345680, -0.0, 3.14159, 1e300, .leastNonzeroMagnitude, 100, 1.5e16,
                               -2.5, 0.30000000000000004],
        float: 1.1, int8: -128, uint64: .max, int64: .min,
        text: "a/b\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀\u{2028}</script>", flag: true, empty: [:], emptyList: [],
        none: nil, inner: Inner(z: 3, a: nil, nested: [[1, nil], []]),
        map: ["b": Inner(z: 1, a: "x"), "a10": Inner(z: 2), "a2": Inner(z: 3), "A": Inner(z: 4), "_": Inner(z: 5),
              "é": Inner(z: 6), "Z": Inner(z: 7)],
        kind: .second, optionalList: ["x", nil], intKeys: [2: "two", 10: "ten"])

    func foundation<T: Encodable>(_ value: T, _ formatting: JSONEncoder.OutputFormatting) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        return Array(try encoder.encode(value))
    }

    @Test func sortedCompactBytesEqualFoundations() throws {
        let ours = try JSONCoder.encode(Self.sample)
        let theirs = try foundation(Self.sample, [.sortedKeys])
        #expect(String(decoding: ours, as: UTF8.self) == String(decoding: theirs, as: UTF8.self))
    }

    @Test func prettyPrintedBytesEqualFoundations() throws {
        let ours = try JSONCoder.encode(Self.sample, options: JSONWriteOptions(prettyPrinted: true))
        let theirs = try foundation(Self.sample, [.sortedKeys, .prettyPrinted])
        #expect(String(decoding: ours, as: UTF8.self) == String(decoding: theirs, as: UTF8.self))
        #expect(try JSONCoder.encode([String: Int](), options: JSONWriteOptions(prettyPrinted: true))
                == foundation([String: Int](), [.sortedKeys, .prettyPrinted]))
    }

    @Test func withoutEscapingSlashes() throws {
        let ours = try JSONCoder.encode(["k": "a/b"], options: JSONWriteOptions(escapeSlashes: false))
        #expect(ours == (try foundation(["k": "a/b"], [.sortedKeys, .withoutEscapingSlashes])))
    }

    @Test func topLevelScalars() throws {
        #expect(try JSONCoder.encode("x/y") == foundation("x/y", []))
        #expect(try JSONCoder.encode(42) == foundation(42, []))
        #expect(try JSONCoder.encode(Optional<Int>.none) == foundation(Optional<Int>.none, []))
        #expect(try JSONCoder.decode(Int.self, from: Array(" 5 ".utf8)) == 5)
        #expect(try JSONCoder.decode(String?.self, from: Array("null".utf8)) == nil)
    }

    @Test func roundTripsAndDecodesWhatFoundationDecodes() throws {
        let bytes = try foundation(Self.sample, [.sortedKeys])
        #expect(try JSONCoder.decode(Sample.self, from: bytes) == Self.sample)
        #expect(try JSONCoder.decode(Sample.self, from: JSONCoder.encode(Self.sample)) == Self.sample)
        let pretty = try foundation(Self.sample, [.prettyPrinted])
        #expect(try JSONCoder.decode(Sample.self, from: pretty) == Self.sample)
    }

    @Test func unicodeEscapesAndSurrogates() throws {
        let text = #"["\u00e9\ud83d\ude00\/\"\\\b\f\n\r\t\u0000", "plain é😀"]"#
        let ours = try JSONCoder.decode([String].self, from: Array(text.utf8))
        let theirs = try JSONDecoder().decode([String].self, from: Data(text.utf8))
        #expect(ours == theirs)
        #expect(ours[0] == "é😀/\"\\\u{8}\u{c}\n\r\t\u{0}")
        for bad in [#"["\ud800"]"#, #"["\udc00"]"#, #"["\ud800\u0041"]"#, #"["\x"]"#, "[\"a\u{1}\"]", #"["\u12"]"#] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONCoder.decode([String].self, from: Array(bad.utf8)) }
        }
        #expect(throws: DecodingError.self) { try JSONCoder.decode([String].self, from: [0x5B, 0x22, 0xFF, 0x22, 0x5D]) }
    }

    @Test func numbers() throws {
        #expect(try JSONCoder.decode([Int].self, from: Array("[1.0, 2e2, -0, 9223372036854775807]".utf8))
                == [1, 200, 0, .max])
        #expect(try JSONCoder.decode(UInt64.self, from: Array("18446744073709551615".utf8)) == .max)
        #expect(try JSONCoder.decode(Double.self, from: Array("0.30000000000000004".utf8)) == 0.30000000000000004)
        #expect(try JSONCoder.decode(Double.self, from: Array("-1E-2".utf8)) == -0.01)
        for bad in ["[1.5]", "[300]", "[-1]"] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONCoder.decode([UInt8].self, from: Array(bad.utf8)) }
        }
        for bad in ["01", "1.", ".5", "-", "1e", "+1", "0x1", "NaN", "1e999"] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONCoder.decode(Double.self, from: Array(bad.utf8)) }
        }
        #expect(throws: EncodingError.self) { try JSONCoder.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONCoder.encode([Double.infinity]) }
    }

    @Test func syntaxErrors() throws {
        for bad in ["", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1] x", "{a:1}", "tru", "[", "{\"a\":", "\"open"] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONCoder.decode([String: Int].self, from: Array(bad.utf8)) }
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array(deep.utf8)) }
    }

    struct Outer: Decodable { var items: [Item] }
    struct Item: Decodable { var name: String; var size: Int? }

    @Test func errorsNameTheCodingPath() throws {
        func path(_ json: String) -> (String, String) {
            do {
                _ = try JSONCoder.decode(Outer.self, from: Array(json.utf8))
                return ("", "decoded")
            } catch let error as DecodingError {
                switch error {
                case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                    return (context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: "."),
                            context.debugDescription)
                case .keyNotFound(let key, let context):
                    return ((context.codingPath + [key]).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                        .joined(separator: "."), context.debugDescription)
                @unknown default: return ("", "\(error)")
                }
            } catch {
                return ("", "\(error)")
            }
        }
        #expect(path(#"{"items":[{"name":"a"},{"name":1}]}"#)
                == ("items.[1].name", "Expected to decode String but found number instead."))
        #expect(path(#"{"items":[{"name":"a","size":"big"}]}"#).0 == "items.[0].size")
        #expect(path(#"{"items":[{"size":1}]}"#).0 == "items.[0].name")
        #expect(path(#"{"items":[{"name":null}]}"#).0 == "items.[0].name")
        #expect(path(#"{"items":{}}"#) == ("items", "Expected to decode Array<Any> but found a dictionary instead."))
        #expect(path(#"{"items":[{"name":"a","size":null}]}"#) == ("", "decoded"))
    }

    @Test func nestedOptionalsAndDuplicateKeys() throws {
        struct Holder: Codable, Equatable { var value: Int?? }
        #expect(try JSONCoder.decode(Holder.self, from: Array(#"{}"#.utf8)) == Holder(value: nil))
        #expect(try JSONCoder.decode([String: Int].self, from: Array(#"{"a":1,"a":2}"#.utf8)) == ["a": 2])
        #expect(try JSONCoder.decode([[Int?]?].self, from: Array("[null,[null,1]]".utf8)) == [nil, [nil, 1]])
    }

    @Test func base64AgainstFoundation() throws {
        var generator = SplitMix64(seed: 7)
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString())
            #expect(Base64.decode(text) == bytes)
        }
        for bad in ["A", "AB=C", "====", "AB==AB==", "AB*=", "ABC=D==="] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func randomIDsAreVersion4UUIDs() throws {
        let id = RandomID.uuidString()
        let parsed = try #require(UUID(uuidString: id))
        #expect(parsed.uuidString == id)
        #expect(Array(id)[14] == "4" && "89AB".contains(Array(id)[19]))
        #expect(RandomID.uuidString() != id)
    }

    @Test func instantMatchesDate() throws {
        let instant = Instant(timeIntervalSince1970: 1_764_786_488.25)
        let date = Date(timeIntervalSince1970: 1_764_786_488.25)
        #expect(instant.description == date.description)
        #expect(instant.addingTimeInterval(-10).timeIntervalSince(instant) == -10)
        #expect(abs(Instant.now.timeIntervalSince1970 - Date().timeIntervalSince1970) < 60)
    }
}
