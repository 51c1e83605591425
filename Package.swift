// swift-tools-version: 6.1
// Odins Ravne control plane: Lambda functions, Batch workers and the `odin` CLI.
// Layout and rules: README.md (architecture) and ../shared/docs/architecture.md.
import PackageDescription

let package = Package(
    name: "OdinsRavne",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "odin", targets: ["OdinCLI"]),
        .executable(name: "munin-worker", targets: ["MuninWorker"]),
        .executable(name: "hugin", targets: ["HuginCLI"]),
        .executable(name: "echo", targets: ["EchoFunction"]),
        .executable(name: "ingest", targets: ["IngestFunction"]),
        .executable(name: "job-events", targets: ["JobEventsFunction"]),
        .executable(name: "budget-guard", targets: ["BudgetGuardFunction"]),
        .executable(name: "sweeper", targets: ["SweeperFunction"]),
        .executable(name: "odin-package", targets: ["OdinPackage"]),
        .executable(name: "aws-bench", targets: ["AWSBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: - C bridges (no logic; one Swift importer each)
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev"])]),

        // MARK: - Owners of C resources
        // HTTP: the request/response types and the plain-socket HTTPConnection (no C library: the Lambda runtime's
        // only transport); CurlHTTP: the libcurl client (TLS) over the same types, for AWS and other HTTPS peers.
        .target(name: "HTTP"),
        .target(name: "CurlHTTP", dependencies: ["CCurl", "HTTP"]),
        .target(name: "Crypto", dependencies: ["COpenSSL"]),
        .target(name: "Compression", dependencies: ["CZlib"]),
        .target(name: "Media", dependencies: ["CFFmpeg"]),
        // CTimeZoneTable: the offline GPS → time-zone table (generated data, ODbL; see its README), linked as bytes.
        .target(name: "CTimeZoneTable", exclude: ["ZoneTable.c.bin", "README.md"]),

        // MARK: - Lambda runtime and its local emulator
        // JSONEscaping: JSON string literals for hand-written JSON (Foundation-free).
        .target(name: "JSONEscaping"),
        // JSONCoding: Codable to and from JSON bytes without Foundation (the Lambda functions link no Foundation).
        .target(name: "JSONCoding"),
        // OdinBasics: the shared utilities (civil time, blocking threads, process spawning, FNV-1a, SplitMix64, the
        // environment snapshot, the logger); depends on nothing but JSONEscaping.
        .target(name: "OdinBasics", dependencies: ["JSONEscaping"]),
        .target(name: "LambdaRuntime", dependencies: ["HTTP", "JSONEscaping", "OdinBasics"]),
        .target(name: "LambdaJSON", dependencies: ["JSONCoding", "LambdaRuntime"]),
        .target(name: "RuntimeEmulator", dependencies: ["OdinBasics"]),

        // MARK: - AWS client, event models (DescribeJobs decodes into the event model's BatchJobDetail)
        .target(name: "AWS", dependencies: ["HTTP", "CurlHTTP", "Crypto", "Events", "JSONCoding", "OdinBasics"]),
        .target(name: "Events", dependencies: ["JSONCoding", "OdinBasics"]),
        // Benchmark driver for scripts/bench/30-aws.sh (not deployed).
        .executableTarget(name: "AWSBench", dependencies: ["AWS", "HTTP", "OdinBasics"]),

        // MARK: - Odin (control plane), Munin (worker), Hugin (condensation)
        // OdinKit: ports and shared formats (object store, clock, Stage 1 records, chunks, key layout).
        .target(name: "OdinKit", dependencies: ["JSONEscaping", "OdinBasics"]),
        .target(name: "Munin", dependencies: ["Media", "Compression", "OdinKit", "CTimeZoneTable", "OdinBasics"]),
        // Hugin: release builds drop the dynamic exclusivity checks (≈ 9 % of condensation CPU in a profile of the
        // per-record loop); debug builds, which the tests use, keep them.
        .target(name: "Hugin", dependencies: ["Compression", "JSONEscaping", "OdinKit", "OdinBasics"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Odin: control logic over the ports, the function handlers, profiles (what the Lambda functions link).
        .target(name: "Odin", dependencies: ["OdinKit", "Events", "Compression", "JSONCoding", "JSONEscaping", "Crypto",
                                             "OdinBasics"]),
        // OdinLocal: the local binding of Odin's ports (LocalCompute and its worker processes, file and in-memory
        // state stores, stdout notifier, manual clock) and the Batch state machine it shares with the simulator; for
        // the CLI, the simulator and tests, never the functions.
        .target(name: "OdinLocal", dependencies: ["Odin", "OdinKit", "Events", "OdinBasics"]),
        // OdinAWS: the AWS binding of Odin's ports.
        .target(name: "OdinAWS", dependencies: ["Odin", "OdinKit", "AWS", "Crypto", "Events", "HTTP", "OdinBasics"]),
        // OdinCost: prices, advice, quotes and the policy simulator over the real control logic.
        .target(name: "OdinCost", dependencies: ["Odin", "OdinKit", "OdinLocal", "Events", "Compression", "OdinBasics"]),
        // HuginState: the site registry in the state store (DynamoDB on AWS), and the one way the hugin and odin
        // executables open the registry (through the AWS binding; the functions never link HuginState).
        .target(name: "HuginState", dependencies: ["Hugin", "Odin", "OdinKit", "OdinAWS"]),
        // OdinDeploy: `odin deploy` / `odin destroy` (change sets, events, artefact upload, emptying buckets).
        .target(name: "OdinDeploy", dependencies: ["AWS", "Odin", "Crypto", "HTTP", "JSONEscaping", "OdinBasics"]),

        // MARK: - Executables
        // OdinApp: the logic of the `odin` command (OdinCLI only parses, calls and prints).
        .target(name: "OdinApp", dependencies: [
            "AWS", "Compression", "Crypto", "Events", "Hugin", "HuginState", "Odin", "OdinAWS", "OdinBasics", "OdinCost",
            "OdinDeploy", "OdinKit", "OdinLocal", "ProfileYAML",
        ]),
        .executableTarget(name: "OdinCLI", dependencies: [
            "OdinApp", "Odin", "OdinAWS", "OdinCost", "OdinKit", "OdinLocal", "Hugin", "RuntimeEmulator",
            "OdinDeploy", "OdinBasics",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // ProfileYAML: profile files (YAML) to Profile, for the CLI and the tests (Yams stays out of the functions).
        .target(name: "ProfileYAML", dependencies: ["Odin", .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "OdinBench", dependencies: ["Odin", "OdinKit", "OdinLocal", "Events"]),
        .executableTarget(name: "MuninWorker", dependencies: ["Munin", "OdinAWS", "OdinKit", "OdinBasics"]),
        .executableTarget(name: "HuginCLI", dependencies: ["Hugin", "HuginState", "OdinAWS", "OdinKit", "Compression", "OdinBasics"]),
        // odin-package: deterministic Lambda zips (scripts/package.sh); a host tool, never deployed.
        .executableTarget(name: "OdinPackage", dependencies: ["Compression"]),
        .executableTarget(name: "EchoFunction", dependencies: ["LambdaRuntime"], path: "functions/echo/src"),
        .executableTarget(name: "IngestFunction", dependencies: ["LambdaRuntime", "Odin", "OdinAWS"],
                          path: "functions/ingest/src"),
        .executableTarget(name: "JobEventsFunction", dependencies: ["LambdaRuntime", "Odin", "OdinAWS"],
                          path: "functions/job-events/src"),
        .executableTarget(name: "BudgetGuardFunction", dependencies: ["LambdaRuntime", "Odin", "OdinAWS"],
                          path: "functions/budget-guard/src"),
        .executableTarget(name: "SweeperFunction", dependencies: ["LambdaRuntime", "Odin", "OdinAWS"],
                          path: "functions/sweeper/src"),

        // MARK: - Benchmark drivers (never shipped)
        .executableTarget(name: "RuntimeBench", dependencies: ["RuntimeEmulator"], path: "Benchmarks/RuntimeBench"),

        // MARK: - Tests (Swift Testing; real peers: see Tests/README.md)
        .target(name: "TestSupport", dependencies: ["RuntimeEmulator", "HTTP", "CurlHTTP", "AWS", "Odin", "Events", "OdinBasics"], path: "Tests/TestSupport"),
        .executableTarget(name: "RuntimeProbe", dependencies: ["LambdaRuntime", "LambdaJSON", "OdinBasics"],
                          path: "Tests/Fixtures/RuntimeProbe"),
        .testTarget(name: "BridgeTests", dependencies: ["HTTP", "CurlHTTP", "Crypto", "Compression", "Media", "RuntimeEmulator",
                                                 "TestSupport", "OdinBasics"]),
        .testTarget(name: "LambdaRuntimeTests", dependencies: ["RuntimeEmulator", "TestSupport", "RuntimeProbe"]),
        .testTarget(name: "AWSTests", dependencies: ["AWS", "Events", "HTTP", "CurlHTTP", "Crypto", "RuntimeEmulator", "TestSupport", "OdinBasics"]),
        .testTarget(name: "OdinBasicsTests", dependencies: ["OdinBasics"]),
        .testTarget(name: "JSONCodingTests", dependencies: ["JSONCoding", "OdinBasics"]),
        .testTarget(name: "EventsTests", dependencies: ["Events"]),
        .testTarget(name: "OdinTests", dependencies: ["Odin", "OdinKit", "OdinLocal", "Events", "ProfileYAML", "OdinBasics", "TestSupport"]),
        .testTarget(name: "MuninTests", dependencies: ["Munin", "Media", "OdinKit", "Compression", "TestSupport",
                                                       "Hugin", "OdinBasics"]),
        .testTarget(name: "HuginTests", dependencies: ["Hugin", "OdinKit", "Compression", "TestSupport", "OdinBasics"]),
        .testTarget(name: "OdinAppTests", dependencies: ["OdinApp", "Odin", "OdinKit", "OdinLocal", "Events", "AWS", "HTTP",
                                                       "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "AWS", "HTTP", "Odin", "OdinAWS", "OdinKit",
                                                     "OdinLocal", "RuntimeEmulator", "OdinBasics"]),
        .testTarget(name: "FunctionTests", dependencies: ["Odin", "OdinAWS", "OdinKit", "OdinLocal", "Events", "AWS", "RuntimeEmulator",
                                                         "TestSupport", "HTTP", "Compression",
                                                         // built by `swift test`: the tests run the real bootstraps
                                                         "IngestFunction", "JobEventsFunction", "BudgetGuardFunction",
                                                         "SweeperFunction", "MuninWorker", "HuginCLI", "Hugin",
                                                         "HuginState", "OdinBasics"]),
        .testTarget(name: "CostTests", dependencies: ["OdinCost", "Odin", "OdinAWS", "OdinKit", "OdinLocal", "Events", "AWS",
                                                      "TestSupport", "OdinBasics"]),
        .testTarget(name: "DeployTests", dependencies: ["OdinDeploy", "AWS", "Odin", "HTTP", "Compression", "Crypto",
                                                        "TestSupport", "OdinBasics"]),
        .testTarget(name: "InfraTests", dependencies: ["Compression", "TestSupport"], exclude: ["Fixtures"]),
    ]
)

// Standard settings for every Swift target: Swift 6 language mode with complete checking (the default in tools 6.x),
// plus MemberImportVisibility (imports must be explicit).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
