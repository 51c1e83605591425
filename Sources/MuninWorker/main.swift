// munin-worker: the Batch job command. One array child processes one chunk of a run; see WorkerCommand.
import Munin

#if canImport(Glibc)
import Glibc
#endif

exit(WorkerCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessEnvironment.snapshot()))
