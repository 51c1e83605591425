import FoundationEssentials
@testable import Odin
import ProfileYAML
import Testing

/// YAML → ConfigValue, as the CLI does it.
func configValue(yaml text: String) throws -> ConfigValue {
    try ProfileYAMLReader.tree(yaml: text, source: "test")
}

func defaultYAML() throws -> String {
    let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    return try String(contentsOfFile: "/\(root)/profiles/default.yaml", encoding: .utf8)
}

@Suite struct ProfileTests {
    @Test func defaultYAMLEqualsBuiltInDefaults() throws {
        let profile = try Profile(try configValue(yaml: try defaultYAML()))
        #expect(profile == Profile())
        #expect(profile.compute.region == "eu-north-1")
        #expect(profile.costOptimization.fallbackTimeout == 300)
        #expect(profile.clustering.radiusMeters == 5)
        #expect(profile.compute.bidPercentage == 70)
    }

    @Test func unknownKeyIsNamedWithItsPath() {
        let tree = ConfigValue.map(["pipeline": .map(["chunking": .map(["target_minuets": .number(5)])])])
        do {
            _ = try Profile(tree)
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath == "pipeline.chunking.target_minuets")
            #expect(error.message.contains("unknown key"))
        }
    }

    @Test func outOfRangeNamesKeyAndRange() {
        let tree = ConfigValue.map(["cloud": .map(["aws": .map(["compute": .map(["bid_percentage": .number(140)])])])])
        do {
            _ = try Profile(tree)
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath == "cloud.aws.compute.bid_percentage")
            #expect(error.message.contains("1…100"))
        }
        let desired = ConfigValue.map(["cloud": .map(["aws": .map(["compute": .map(["desired_vcpus": .number(8)])])])])
        #expect(throws: ProfileError.self) { try Profile(desired) }
        let wrongType = ConfigValue.map(["budget": .map(["on_alarm": .string("panic")])])
        do { _ = try Profile(wrongType) } catch {
            #expect(error.keyPath == "budget.on_alarm")
            #expect(error.message.contains("terminate, drain"))
        }
        let forecast = ConfigValue.map(["budget": .map(["on_forecast": .string("terminate")])])
        do {
            _ = try Profile(forecast)
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath == "budget.on_forecast")
            #expect(error.message.contains("notify, stop"))
        }
        #expect((try? Profile(ConfigValue.map(["budget": .map(["on_forecast": .string("stop")])])))?.budget.onForecast == .stop)
        #expect(Profile().budget.onForecast == .notify)
        let list = ConfigValue.map(["cloud": .map(["aws": .map(["compute": .map(["instance_types": .list([.string("x9.huge")])])])])])
        do { _ = try Profile(list) } catch { #expect(error.keyPath == "cloud.aws.compute.instance_types[0]") }
    }

    /// `pipeline.time.default_timezone`: null by default; a zone name is kept; anything else names the key.
    @Test func defaultTimezoneKey() throws {
        #expect(Profile().time.defaultTimezone == nil)
        func tree(_ value: ConfigValue) -> ConfigValue {
            .map(["pipeline": .map(["time": .map(["default_timezone": value])])])
        }
        #expect(try Profile(tree(.string("Australia/Adelaide"))).time.defaultTimezone == "Australia/Adelaide")
        #expect(try Profile(tree(.null)).time.defaultTimezone == nil)
        for bad: ConfigValue in [.string(""), .string("../etc/passwd"), .string("Europe/Stock holm"), .number(1)] {
            do {
                _ = try Profile(tree(bad))
                Issue.record("expected an error for \(bad)")
            } catch { #expect(error.keyPath == "pipeline.time.default_timezone") }
        }
    }

    @Test func jsonFromEnvironmentWithoutYams() throws {
        let json = #"{"budget":{"amount":250,"currency":"DKK","exchange_rate":6.9},"pipeline":{"ingest":{"settle_seconds":5}}}"#
        let profile = try Profile.fromEnvironment(["ODIN_PROFILE_JSON": json])
        #expect(profile.budget.amount == 250)
        #expect(profile.budget.currency == "DKK")
        #expect(profile.ingest.settleSeconds == 5)
        #expect(try Profile.fromEnvironment([:]) == Profile())
        do {
            _ = try Profile.fromEnvironment(["ODIN_PROFILE_JSON": #"{"budget":{"amount":-1}}"#])
        } catch {
            #expect(error.keyPath == "ODIN_PROFILE_JSON.budget.amount")
        }
    }

    @Test func pacingCap() {
        var profile = Profile()
        #expect(Pacer.cap(profile: profile, spent: 0) == 100)
        profile.budget.amount = 10
        // 10 USD over 24 h at 0.04 USD per vCPU-hour (g4dn.xlarge Spot 0.16 / 4) ≈ 10.4 vCPUs.
        #expect(Pacer.cap(profile: profile, spent: 0) == 10)
        #expect(Pacer.cap(profile: profile, spent: 10) == 0)
        profile.budget.pacingEnabled = false
        #expect(Pacer.cap(profile: profile, spent: 10) == 100)
    }
}
