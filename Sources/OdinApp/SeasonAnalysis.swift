import Foundation
import Hugin
import HuginState
import Odin
import OdinAWS
import OdinKit

/// `odin analyze --season`: the runs of one store (a folder of downloaded runs, a store folder, the local binding's
/// store or s3://BUCKET[/runs/PREFIX]) condensed into one Stage 3 (Hugin's `SeasonCondenser`).
package struct SeasonAnalysis {
    /// SOURCE (a folder or s3://BUCKET[/runs/PREFIX]); nil with `--local`.
    package var source: String?
    package var output: String
    package var name: String?
    /// `--media-root`: s3://BUCKET or a folder holding raw/.
    package var mediaRoot: String?
    /// `--registry`: the store whose site registry names the sites.
    package var registry: String?

    package init(source: String?, output: String) {
        self.source = source
        self.output = output
    }

    /// `s3://BUCKET`, `s3://BUCKET/runs[/]` → all runs; `s3://BUCKET/runs/PREFIX` → runs whose id starts so.
    package static func runPrefix(_ location: S3Location) throws(CLIError) -> String {
        let prefix = location.prefix
        if prefix.isEmpty || prefix == "runs" || prefix == "runs/" { return "" }
        guard prefix.hasPrefix("runs/"), !prefix.dropFirst(5).contains("/") else {
            throw CLIError("SOURCE s3://\(location.bucket)/\(prefix): a season reads runs, so pass "
                           + "s3://\(location.bucket), s3://\(location.bucket)/runs/ or "
                           + "s3://\(location.bucket)/runs/<start of the run ids>")
        }
        return String(prefix.dropFirst(5))
    }

    /// A folder path becomes a file:// URI (absolute); URIs are kept.
    package static func mediaRootURI(_ value: String) -> String {
        if value.contains("://") { return value }
        let path = (value as NSString).standardizingPath
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return "file://" + absolute
    }

    /// The runs of the source, where their media is, and the site registry to name the sites from.
    package struct Inputs {
        package var runs: [SeasonRun]
        package var mediaRoot: String
        package var registry: any SiteRegistryStore
    }

    package func inputs(_ context: CommandContext) throws -> Inputs {
        let environment = context.environment
        let found: SeasonInputs.Found
        var defaultRegistry: (any SiteRegistryStore)?
        let label = source ?? "--local"
        do {
            if context.local {
                let root = context.localRoot + "/store"
                guard FileManager.default.fileExists(atPath: root + "/runs") else {
                    throw CLIError("no runs in the local store \(root): run `odin run --local FILES…` first, or "
                                   + "pass --local-root DIR")
                }
                found = try SeasonInputs.inStore(try DirectoryObjectStore(root: root))
            } else if let source, source.hasPrefix("s3://") {
                let location = try S3Location(source, argument: "SOURCE")
                let client = try AWSAccess.client(context)
                found = try SeasonInputs.inStore(S3ObjectStore(client: client, bucket: location.bucket),
                                                 runPrefix: try Self.runPrefix(location))
                defaultRegistry = try SiteRegistries.open(storeURI: "s3://" + location.bucket, environment: environment)
            } else {
                found = try SeasonInputs.inFolder(label)
            }
            guard let media = mediaRoot.map(Self.mediaRootURI) ?? (found.isStore ? found.store.rootURI : nil) else {
                throw CLIError("\(label) is a folder of downloaded runs: their media stayed in the bucket. Pass "
                               + "--media-root s3://BUCKET (the bucket the runs came from) or --media-root DIR (a "
                               + "folder holding raw/), so Camtrap DP filePath points at the media")
            }
            let registryStore = try registry.map { try SiteRegistries.open(storeURI: $0, environment: environment) }
                ?? defaultRegistry ?? ObjectStoreSiteRegistryStore(store: found.store)
            return Inputs(runs: found.runs, mediaRoot: media, registry: registryStore)
        } catch let error as CLIError { throw error } catch {
            throw CLIError("analyze --season \(label): \(error)")
        }
    }

    /// Condenses the source's runs into `output`.
    package func run(_ context: CommandContext, options: CondensationOptions)
        throws -> (summary: CondensationSummary, runs: [String]) {
        let inputs = try inputs(context)
        do {
            return (try Self.condense(inputs.runs, name: name, mediaRoot: inputs.mediaRoot, registry: inputs.registry,
                                      output: output, options: options), inputs.runs.map(\.id))
        } catch let error as CLIError { throw error } catch {
            throw CLIError("analyze --season \(source ?? "--local"): \(error)")
        }
    }

    /// Condenses `runs` into `output` (written whole or not at all).
    package static func condense(_ runs: [SeasonRun], name: String?, mediaRoot: String, registry: any SiteRegistryStore,
                                 output: String, options: CondensationOptions) throws -> CondensationSummary {
        try SeasonCondenser(options: options, registryStore: registry)
            .condense(runs: runs, name: name, mediaRoot: mediaRoot, output: output)
    }
}

/// `odin sites …`: the registry of `--store` (default: the local binding's store), or of the state table with
/// ODIN_TABLE set.
package enum SiteRegistryAccess {
    package static func service(store: String?, _ context: CommandContext) throws -> SiteRegistryService {
        let path = store ?? context.localRoot + "/store"
        let environment = context.environment
        if path.hasPrefix("s3://") || environment["ODIN_TABLE"].map({ !$0.isEmpty }) == true {
            return SiteRegistryService(store: try SiteRegistries.open(storeURI: path, environment: environment))
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("store \(path) does not exist: run `odin run --local` first, or pass --store DIR")
        }
        return SiteRegistryService(store: ObjectStoreSiteRegistryStore(store: try DirectoryObjectStore(root: path)))
    }
}
