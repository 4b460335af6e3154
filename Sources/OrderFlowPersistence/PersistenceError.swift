import PostgresKit
import SQLiteKit

/// Storage failures that are not the caller's fault.
public enum PersistenceError: Error, CustomStringConvertible {
    case corruptRow(table: String, column: String, value: String)

    public var description: String {
        switch self {
        case .corruptRow(let table, let column, let value): "unreadable value '\(value)' in \(table).\(column)"
        }
    }
}

/// Recognises constraint violations from either driver.
enum ConstraintViolation {
    static func isUnique(_ error: any Error) -> Bool {
        if let error = error as? SQLiteFailure { return error.isUniqueViolation }
        if let error = error as? SQLiteError {
            return [.constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed].contains(error.reason)
        }
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == "23505"
        }
        return false
    }
}
