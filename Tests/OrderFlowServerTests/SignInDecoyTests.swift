import Logging
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

@testable import OrderFlowServer

@Suite("Sign-in with an unknown name")
struct SignInDecoyTests {
    /// The hash checked for a name that has no account is as slow as the accounts' own, so the
    /// time of an answer does not tell which names exist.
    @Test func theDecoyCostsWhatAnAccountsHashCosts() async throws {
        let (location, drop) = try await TestDatabase.create(.sqlite)
        let database = try await Database.open(location, logger: TestDatabase.logger)
        var settings = AppConfiguration.SecuritySettings()
        settings.bcryptCost = 6
        try await database.withRunning { [settings] database in
            let security = SecurityService(
                database: database, settings: settings, clock: ManualClock(), logger: TestDatabase.logger)
            let hash = try await security.hashPassword("a password of an account")
            #expect(hash.split(separator: "$").dropLast() == ["2b", "06"])
            #expect(security.decoyHash.split(separator: "$").dropLast() == ["2b", "06"])
        }
        await drop()
    }
}
