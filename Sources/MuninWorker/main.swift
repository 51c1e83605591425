// munin-worker: the Batch job command. One array child processes one chunk of a run; see WorkerCommand.
// Stores: file:// and folders locally, s3://bucket[/prefix] through the AWS binding; media in S3 are read with
// bounded ranged GETs (no full download for probing).
import Munin
import OdinAWS
import OdinBasics
import OdinKit

#if canImport(Glibc)
import Glibc
#endif

let environment = ProcessEnvironment.snapshot()
exit(WorkerCommand.main(
    arguments: Array(CommandLine.arguments.dropFirst()), environment: environment,
    storeFactory: { uri in try ObjectStores.open(uri: uri, environment: environment) },
    locator: { store in store is DirectoryObjectStore ? .objectStore(store) : .rangedReads(store) }))
