/// How a transmission (one order event to one downstream channel) is doing, as seed 000 FR-02
/// classifies it.
public enum TransmissionStatus: String, Sendable, CaseIterable, Codable {
    /// Not acknowledged yet, and its deadline has not passed.
    case pending
    /// Acknowledged by its deadline (the channel's threshold after the event, 30 s by default).
    case success
    /// Acknowledged after its deadline: it was delayed, and stays visible as such.
    case successLate = "success_late"
    /// Its deadline passed without an acknowledgement.
    case delayed
    /// Refused for good, or out of retries (a dead letter holds it).
    case failed

    /// Counted as a success in success rates (late or not).
    public var isSuccess: Bool { self == .success || self == .successLate }
    /// Counted as delayed in delay ratios: late now, or late when it was acknowledged.
    public var wasDelayed: Bool { self == .delayed || self == .successLate }
    /// No later event changes it (but a late acknowledgement turns `delayed` into `successLate`).
    public var isFinal: Bool { self == .success || self == .successLate || self == .failed }

    /// The classification of a transmission at `now`.
    ///
    /// The deadline itself still counts as in time: acknowledged at exactly 30.000000 s is a
    /// success, and the transmission turns delayed only once `now` is past the deadline.
    public static func classify(deadline: Timestamp, acknowledgedAt: Timestamp?, failed: Bool, now: Timestamp)
        -> TransmissionStatus
    {
        if failed { return .failed }
        if let acknowledgedAt { return acknowledgedAt <= deadline ? .success : .successLate }
        return now > deadline ? .delayed : .pending
    }
}

/// Order IDs as other systems write them back: case, spaces, separators, known prefixes and
/// suffixes, leading zeros. Two references that normalise alike are taken to be the same order.
public struct OrderReferenceNormalizer: Sendable, Hashable {
    /// Tokens that some systems put before an order number (`ORD-000123`, `OMS 123`).
    public var prefixes: [String]
    /// Tokens that some systems put after it (`000123-CE`).
    public var suffixes: [String]

    public init(
        prefixes: [String] = ["ORDER", "ORD", "OMS", "PHX", "SO", "PO", "NO"],
        suffixes: [String] = ["ACK", "CE", "OMS", "COMMERCE", "V1"]
    ) {
        self.prefixes = prefixes.map { $0.uppercased() }.sorted { $0.count > $1.count }
        self.suffixes = suffixes.map { $0.uppercased() }
    }

    /// Upper case; split on anything that is not a letter or digit; drop a known prefix token
    /// (also when glued to digits, as in `ORD000123`) and a known suffix token, when more remains;
    /// strip leading zeros from all-digit tokens; join what is left.
    public func normalize(_ reference: String) -> String {
        var tokens = reference.uppercased().split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.map(String.init)
        if tokens.count > 1, prefixes.contains(tokens[0]) { tokens.removeFirst() }
        if tokens.count == 1,
            let glued = prefixes.first(where: {
                tokens[0].hasPrefix($0) && tokens[0].dropFirst($0.count).allSatisfy(\.isNumber)
                    && tokens[0].count > $0.count
            })
        {
            tokens[0] = String(tokens[0].dropFirst(glued.count))
        }
        if tokens.count > 1, let last = tokens.last, suffixes.contains(last) { tokens.removeLast() }
        return tokens.map { token in
            guard token.allSatisfy(\.isNumber) else { return token }
            let stripped = token.drop { $0 == "0" }
            return stripped.isEmpty ? "0" : String(stripped)
        }.joined()
    }
}
