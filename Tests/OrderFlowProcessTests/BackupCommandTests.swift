import Foundation
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowTestSupport
import Testing

/// `orderflow backup` and `orderflow restore` as a person runs them.
///
/// One test at a time: run all at once, their child processes starve the pipeline tests'
/// 2-second step limit on a 2-core machine.
@Suite("Backup commands", .serialized, .databaseSlots)
struct BackupCommandTests {
    @Test(arguments: TestDatabase.kinds)
    func restoreAsksBeforeReplacingOrders(kind: Database.Kind) async throws {
        let (location, drop) = try await TestDatabase.create(kind)
        defer { Task { await drop() } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "orderflow-backup-command-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = ServerProcess.argument(for: location)
        let file = "\(folder)/orderflow.backup"

        let opened = try await Database.open(location, logger: TestDatabase.logger)
        try await opened.withRunning { database in
            try await Migrator(database: database, logger: TestDatabase.logger).migrate()
            try await Samples.seed(database)
            let order = try Samples.order("ORD-1", at: Timestamp(microseconds: 1_795_000_000_000_000))
            try await Samples.create(order, in: OrderRepository(database: database))
        }

        let backup = try await orderflow("backup", "--database", database, "--to", file)
        #expect(backup.status == 0, "\(backup.errors)")
        #expect(backup.output.hasPrefix("backed up ") && backup.output.contains("1 orders"), "\(backup.output)")

        let again = try await orderflow("backup", "--database", database, "--to", file)
        #expect(again.status != 0)
        #expect(again.errors.contains("already exists") && again.errors.contains("--overwrite"), "\(again.errors)")

        let refused = try await orderflow("restore", "--database", database, "--from", file)
        #expect(refused.status != 0)
        #expect(refused.errors.contains("holds 1 orders") && refused.errors.contains("--yes"), "\(refused.errors)")

        let restored = try await orderflow("restore", "--database", database, "--from", file, "--yes")
        #expect(restored.status == 0, "\(restored.errors)")
        #expect(
            restored.output.hasPrefix("restored ") && restored.output.contains("replaced 1 orders"),
            "\(restored.output)")
        #expect(restored.output.split(separator: "\n").count == 1, "one line on success")
    }

    @Test func backupOfAMissingSQLiteFileCreatesNothing() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "orderflow-backup-command-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = try await orderflow(
            "backup", "--database", "sqlite:\(folder)/typo.sqlite", "--to", "\(folder)/x.backup")
        #expect(missing.status != 0)
        #expect(missing.errors.contains("there is no database at"), "\(missing.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])
    }

    func orderflow(_ arguments: String...) async throws -> (status: Int32, output: String, errors: String) {
        let result = try await Subprocess.run(ServerProcess.binary, arguments + ["--log-level", "error"])
        return (result.status, result.output, result.errors)
    }
}
