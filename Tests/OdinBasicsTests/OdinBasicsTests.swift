import Foundation
import OdinBasics
import Synchronization
import Testing

/// Known vectors for the shared utilities: each copy they replaced must see the same numbers.
@Suite struct CivilTimeTests {
    /// Every day from year -2000 to 4000 against Foundation's proleptic Gregorian calendar (UTC), both ways.
    @Test func daysRoundTripAgainstFoundationsGregorianCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        // Foundation's Gregorian calendar switches to Julian before 1582-10-15: compare from there on, and check
        // the algorithm's own round trip over the whole range.
        let firstGregorian = CivilCalendar.days(year: 1582, month: 10, day: 15)
        let last = CivilCalendar.days(year: 4000, month: 12, day: 31)
        var previous: (year: Int, month: Int, day: Int)?
        for days in CivilCalendar.days(year: -2000, month: 1, day: 1)...last {
            let date = CivilCalendar.date(days: days)
            #expect(CivilCalendar.days(year: date.year, month: date.month, day: date.day) == days)
            if let previous {  // consecutive days: the next day, month or year
                let next = date.day == 1 ? (date.month == 1 ? previous.year + 1 == date.year : previous.month + 1 == date.month)
                    : previous.day + 1 == date.day
                #expect(next, "\(previous) → \(date)")
            }
            previous = date
            if days >= firstGregorian, days % 7 == 0 || date.day == 1 || (date.month == 2 && date.day >= 28) {
                let components = calendar.dateComponents([.year, .month, .day],
                                                         from: Date(timeIntervalSince1970: Double(days) * 86_400))
                #expect(components.year == date.year && components.month == date.month && components.day == date.day,
                        "day \(days): \(date) vs \(components)")
            }
        }
    }

    @Test func knownDates() {
        #expect(CivilCalendar.days(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilCalendar.days(year: 2000, month: 3, day: 1) == 11_017)
        #expect(CivilCalendar.days(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilCalendar.date(days: 19_782) == (2024, 2, 29))
        #expect(CivilTime(secondsSince1970: 4_102_444_800) == CivilTime(year: 2100, month: 1, day: 1))
        #expect(CivilTime(secondsSince1970: -1) == CivilTime(year: 1969, month: 12, day: 31, hour: 23, minute: 59,
                                                             second: 59))
        let leap = CivilTime(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59)
        #expect(leap.secondsSince1970 == 1_709_251_199)
        #expect(CivilTime(secondsSince1970: leap.secondsSince1970) == leap)
    }
}

@Suite struct HashAndRandomTests {
    /// The FNV-1a 64 test vectors published with the reference code (Noll, fnv/test_fnv.c).
    @Test func fnv1aPublishedVectors() {
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hash("foobar") == 0x8594_4171_f739_67e8)
        #expect(FNV1a.hash([UInt8]("foobar".utf8)) == FNV1a.hash("foobar"))
        #expect(FNV1a.hex("a") == "af63dc4c8601ec8c")
        #expect(FNV1a.hex("", digits: 8) == "cbf29ce4")
    }

    /// SplitMix64 reference outputs: seed 1234567 from the reference implementation (prng.di.unimi.it/splitmix64.c),
    /// and seed 0.
    @Test func splitMix64ReferenceOutputs() {
        var generator = SplitMix64(seed: 1_234_567)
        let expected: [UInt64] = [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                                  4_593_380_528_125_082_431, 16_408_922_859_458_223_821]
        #expect((0..<5).map { _ in generator.next() } == expected)
        var zero = SplitMix64(seed: 0)
        #expect(zero.next() == 0xe220_a839_7b1d_cdaf)
        #expect(zero.next() == 0x6e78_9e6a_a1b9_65f4)
        var unit = SplitMix64(seed: 1_234_567)
        #expect(unit.unit() == Double(expected[0] >> 11) * 0x1p-53)
    }
}

@Suite struct ProcessTests {
    @Test func environmentSnapshotMatchesFoundation() {
        #expect(ProcessEnvironment.snapshot() == ProcessInfo.processInfo.environment)
    }

    @Test func spawnsWithExactEnvironmentOutputAndExitCode() throws {
        let log = NSTemporaryDirectory() + "odin-basics-\(getpid()).log"
        defer { unlink(log) }
        let pid = try ProcessSpawner.spawn(["sh", "-c", "echo \"$ONLY\"; echo err >&2; exit 3"],
                                           environment: ["ONLY": "this", "PATH": "/usr/bin:/bin"], searchPath: true,
                                           output: .init(path: log, appending: false))
        let status = ProcessSpawner.wait(pid)
        #expect(status == 3)
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "this\nerr\n")
        let killed = try ProcessSpawner.spawn(["/bin/sh", "-c", "kill -9 $$"], environment: nil)
        let killedStatus = ProcessSpawner.wait(killed)
        #expect(killedStatus.map { Int($0) } == 137, "SIGKILL is reported as 128 + 9")
        #expect(throws: ProcessSpawner.SpawnError.self) { try ProcessSpawner.spawn(["/nonexistent/x"], environment: [:]) }
    }

    @Test func blockingThreadsMapKeepsIndexOrderAndRunUsesEveryThread() {
        #expect(BlockingThreads.map(1000, concurrency: 4) { $0 * $0 } == (0..<1000).map { $0 * $0 })
        #expect(BlockingThreads.map(0, concurrency: 4) { $0 }.isEmpty)
        let calls = Atomic<Int>(0)
        BlockingThreads.run(count: 3) { calls.add(1, ordering: .relaxed) }
        #expect(calls.load(ordering: .relaxed) == 3)
    }
}

@Suite struct LoggerTests {
    @Test func recordsCarryTheRequestIDOnlyWhileHandlingAndNeverBelowTheLevel() throws {
        let records = Mutex<[Logger.Record]>([])
        let logger = Logger(level: .info) { record in records.withLock { $0.append(record) } }
            .with("lambda.function", "f")
        let copy = logger.with("component", "aws")  // made before the invocation, like the services at cold start
        logger.info("cold start")
        logger.handling(requestID: "req-1") {
            copy.info("handled", ["b": "2", "a": "1"])
            copy.debug("dropped")
        }
        logger.warning("after")
        let all = records.withLock { $0 }
        #expect(all.map(\.message) == ["cold start", "handled", "after"])
        #expect(all.map(\.requestID) == [nil, "req-1", nil])
        #expect(all[1].metadata.map(\.key) == ["lambda.function", "component", "a", "b"])
        let line = all[1].jsonLine
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["requestId"] == "req-1" && object["level"] == "INFO" && object["message"] == "handled")
        #expect(object["component"] == "aws" && object["timestamp"]?.hasSuffix("Z") == true)
        #expect(Logger.level(from: ["AWS_LAMBDA_LOG_LEVEL": "DEBUG", "LOG_LEVEL": "error"]) == .debug)
        #expect(Logger.level(from: ["LOG_LEVEL": "warn"]) == .warning)
    }
}

/// The UTF-8 substring search the function-linked modules use instead of _StringProcessing's, against it.
@Suite struct TextSearchTests {
    @Test func agreesWithTheStandardLibrary() {
        let cases: [(String, String)] = [("a%20b%20%20c", "%20"), ("%20", "%20"), ("", "x"), ("abc", ""),
                                         ("key = v #c", " #"), ("aab", "ab"), ("é ab é", "ab"), ("abab", "bab"),
                                         ("raw/x.tmp-1", ".tmp-"), ("ab", "abc")]
        for (text, needle) in cases {
            #expect(text.containsUTF8(needle) == (needle.isEmpty || text.contains(needle)), "\(text) / \(needle)")
            let ours = text.firstUTF8Range(of: needle).map { text[$0] }
            #expect(ours == text.firstRange(of: needle).map { text[$0] }, "\(text) / \(needle)")
            if !needle.isEmpty {
                #expect(text.splitUTF8(separator: needle)
                        == text.split(separator: needle, omittingEmptySubsequences: false), "\(text) / \(needle)")
            }
        }
    }
}
