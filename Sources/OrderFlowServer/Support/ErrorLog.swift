import OpenAPIRuntime

/// What the log keeps of an unexpected error: its kind and its own description, never the request
/// it came with. The OpenAPI runtime's `ServerError` carries every request header and the decoded
/// input (authorization headers, cookies, API keys, passwords, refresh tokens), so of it only the
/// operation and the underlying cause are kept.
enum ErrorLog {
    static func cause(of error: any Error) -> String {
        if let error = error as? ServerError {
            return "\(error.operationID): \(cause(of: error.underlyingError))"
        }
        return "\(type(of: error)): \(String(String(describing: error).prefix(500)))"
    }
}
