import Hummingbird
import Logging

/// The ceiling for HTTP: a Hummingbird application with one route that answers a fixed body, no
/// database, no middleware. `scripts/bench` puts it under wrk to tell what HTTP alone costs on
/// this machine, so OrderFlow's own figures read as a share of that.
public enum CeilingServer {
    public static func run(host: String, port: Int) async throws {
        let router = Router()
        router.get("/") { _, _ in "ok" }
        var logger = Logger(label: "orderflow.ceiling")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
        try await app.runService()
    }
}
