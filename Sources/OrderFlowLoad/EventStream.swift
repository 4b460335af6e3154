import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One server-sent event as a client receives it.
public struct ServerSentEvent: Sendable, Hashable {
    public var id: String?
    /// `message` when the server named none.
    public var event: String
    public var data: String

    public init(id: String?, event: String, data: String) {
        self.id = id
        self.event = event
        self.data = data
    }
}

/// Reads `text/event-stream` (the WHATWG form: `field: value` lines, a blank line ends an event,
/// `:` starts a comment) from chunks as they arrive, so an event is seen the moment its blank
/// line is.
public struct EventStreamParser: Sendable {
    private var line: [UInt8] = []
    private var id: String?
    private var event = ""
    private var data: [String] = []
    private var lastWasCR = false
    /// The last `retry:` the server sent, in milliseconds.
    public private(set) var retryMilliseconds: Int?

    public init() {}

    /// The events completed by `bytes`.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [ServerSentEvent] where Bytes.Element == UInt8 {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let complete = endLine() { events.append(complete) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            guard !data.isEmpty else {
                event = ""
                return nil
            }
            let complete = ServerSentEvent(
                id: id, event: event.isEmpty ? "message" : event, data: data.joined(separator: "\n"))
            event = ""
            data = []
            return complete
        }
        guard line[0] != UInt8(ascii: ":") else { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex && line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch name {
        case "id": id = value
        case "event": event = value
        case "data": data.append(value)
        case "retry": retryMilliseconds = Int(value) ?? retryMilliseconds
        default: break
        }
        return nil
    }
}

/// An open `GET` of an event stream: its status, and its events as they arrive.
public struct EventStreamConnection: AsyncSequence, Sendable {
    public typealias Element = ServerSentEvent
    public let status: HTTPResponseStatus
    public let headers: HTTPHeaders
    let body: HTTPClientResponse.Body

    /// Opens `url` with `headers` (credentials, `Last-Event-ID`); returns once the response head
    /// has arrived. The stream ends when the server closes it or the calling task is cancelled.
    public static func open(_ client: HTTPClient, url: String, headers: [(String, String)] = []) async throws
        -> EventStreamConnection
    {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .hours(24))
        return EventStreamConnection(status: response.status, headers: response.headers, body: response.body)
    }

    /// The whole body, for a response that is not a stream (an error).
    public func text(upTo limit: Int = 1 << 16) async throws -> String {
        String(buffer: try await body.collect(upTo: limit))
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(chunks: body.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        var chunks: HTTPClientResponse.Body.AsyncIterator
        var parser = EventStreamParser()
        var ready: [ServerSentEvent] = []

        public mutating func next() async throws -> ServerSentEvent? {
            while ready.isEmpty {
                guard let chunk = try await chunks.next() else { return nil }
                ready = parser.feed(chunk.readableBytesView)
            }
            return ready.removeFirst()
        }
    }
}
