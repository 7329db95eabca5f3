import CommerceDomain
import Testing

@testable import CommerceService

@Suite("The verified-credential cache across a key reload")
struct CredentialCacheTests {
    @Test("a verification that began before a reload cannot store what the old keys said after the cache was emptied")
    func staleStoreRefused() {
        let cache = CredentialCache()
        let entry = CredentialCache.Entry(caller: .bootstrapAdmin, token: nil)
        let before = cache.generation
        cache.removeAll()  // a reload lands while the verification runs
        cache.store(entry, for: "Bearer old", generation: before)
        #expect(cache["Bearer old"] == nil, "the stale verification was not kept")
        cache.store(entry, for: "Bearer new", generation: cache.generation)
        #expect(cache["Bearer new"] != nil, "a verification after the reload is kept")
    }
}
