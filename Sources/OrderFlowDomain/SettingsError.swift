/// Settings that cannot be used, with every problem found at once: configuration is read whole
/// and reported whole, so a person starting OrderFlow fixes everything in one go.
public struct SettingsError: Error, CustomStringConvertible, Equatable {
    public var problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String { problems.joined(separator: "; ") }

    /// One problem a line, for the person starting OrderFlow.
    public var listed: String { "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}
