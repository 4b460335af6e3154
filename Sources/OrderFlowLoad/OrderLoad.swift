import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OrderFlowSimulator

/// Where to send and as whom.
public struct Target: Sendable {
    public var url: String
    public var apiKey: String
    /// HTTP/1.1 connections the client keeps open to OrderFlow.
    public var connections: Int

    public init(url: String, apiKey: String, connections: Int) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.apiKey = apiKey
        self.connections = connections
    }
}

public struct LoadError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// `POST /api/orders` at a constant rate with realistic bodies (`OrderGenerator`): each order ID
/// unique to the run, 512 different bodies behind them, prepared before the clock starts.
public final class OrderLoad: Sendable {
    let target: Target
    let client: HTTPClient
    let prefix: String
    /// Each body split around its order ID: the ID goes between the two parts.
    let templates: [(ByteBuffer, ByteBuffer)]

    private init(target: Target, client: HTTPClient, prefix: String, templates: [(ByteBuffer, ByteBuffer)]) {
        self.target = target
        self.client = client
        self.prefix = prefix
        self.templates = templates
    }

    /// Reads the catalog through the API and prepares the bodies.
    public static func prepare(_ target: Target, runID: String) async throws -> OrderLoad {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: target.connections)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let locations = try await getJSON(client, target, "/api/locations")
            let products = try await getJSON(client, target, "/api/products?limit=200")
            guard let generator = OrderGenerator(locations: locations, products: products) else {
                throw LoadError("OrderFlow at \(target.url) has no locations or no products to order")
            }
            let marker = "@@ORDER-ID@@"
            var random = SystemRandomNumberGenerator()
            let templates = try (0..<512).map { _ -> (ByteBuffer, ByteBuffer) in
                let body = try JSONSerialization.data(withJSONObject: generator.order(id: marker, using: &random))
                let text = String(decoding: body, as: UTF8.self)
                let parts = text.components(separatedBy: marker)
                return (ByteBuffer(string: parts[0]), ByteBuffer(string: parts[1]))
            }
            return OrderLoad(target: target, client: client, prefix: "LOAD-\(runID)-", templates: templates)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    public func orderID(_ index: Int) -> String { prefix + String(index) }

    /// Creates order `index`; `.ok` on 201.
    public func send(_ index: Int) async -> Outcome {
        let (head, tail) = templates[index % templates.count]
        let id = orderID(index)
        var body = ByteBuffer()
        body.reserveCapacity(head.readableBytes + id.utf8.count + tail.readableBytes)
        body.writeImmutableBuffer(head)
        body.writeString(id)
        body.writeImmutableBuffer(tail)
        var request = HTTPClientRequest(url: target.url + "/api/orders")
        request.method = .POST
        request.headers.add(name: "x-api-key", value: target.apiKey)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status == .created ? .ok : .status(Int(response.status.code))
        } catch {
            return .transport(Self.reason(error))
        }
    }

    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 80 ? String(text.prefix(80)) + "…" : text
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    static func getJSON(_ client: HTTPClient, _ target: Target, _ path: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: target.url + path)
        request.headers.add(name: "x-api-key", value: target.apiKey)
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else {
            throw LoadError("GET \(path) answered \(response.status.code): \(String(buffer: body).prefix(200))")
        }
        return (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }
}
