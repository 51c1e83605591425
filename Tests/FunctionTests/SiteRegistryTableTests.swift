import Hugin
import HuginState
import Odin
import OdinAWS
import Testing
import TestSupport

/// The site registry as one conditionally written item of the state table (DynamoDB in moto, signatures checked).
@Suite("Site registry in the state table", .requires(.venv, .contractChecker))
struct SiteRegistryTableTests {
    @Test("create, update with the current version, and a stale writer is refused")
    func conditionalWrites() throws {
        guard let moto = FunctionMoto.require() else { return }
        let stack = try TestStack(moto)
        let store = StateSiteRegistryStore(state: stack.state)
        #expect(try store.load().registry == nil)
        let service = SiteRegistryService(store: store)
        #expect(try service.list().isEmpty)

        var registry = SiteRegistry(radiusMeters: 5)
        try store.save(registry, replacing: nil)
        let (loaded, token) = try store.load()
        #expect(loaded == registry)
        #expect(token == "1")
        // A second creator loses.
        #expect(throws: HuginError.self) { try store.save(registry, replacing: nil) }

        registry = SiteRegistry(radiusMeters: 5)
        try store.save(registry, replacing: token)
        #expect(try store.load().token == "2")
        // A writer still holding version 1 is refused instead of overwriting version 2.
        do {
            try store.save(registry, replacing: token)
            Issue.record("a stale save must fail")
        } catch let error as HuginError {
            #expect(error.kind == .registry)
        }
        // Through the entry point the executables use.
        let environment = try stack.jobEnvironment("hugin")
        let opened = try SiteRegistries.open(storeURI: "s3://\(stack.bucket)", environment: environment)
        #expect(try opened.load().token == "2")
    }
}
