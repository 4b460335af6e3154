import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OrderFlowDomain
import OrderFlowRuntime

/// Takes card payments. Every call carries an idempotency key derived from the order and the
/// step, so a retried step never charges or refunds twice.
public protocol PaymentProvider: Sendable {
    func charge(_ request: ChargeRequest) async throws -> ChargeResult
    func refund(reference: String, amount: Money, idempotencyKey: String) async throws
}

public struct ChargeRequest: Sendable, Hashable {
    public var idempotencyKey: String
    public var orderID: OrderID
    public var amount: Money
    public var customerID: String?
}

public enum ChargeResult: Sendable, Hashable {
    case approved(reference: String)
    case declined(reason: String)
}

/// A provider failure worth retrying (unreachable, timed out, 5xx).
public struct ProviderUnavailable: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// The provider's HTTP API: `POST {url}/charges` `{idempotencyKey, orderId, amount, customerId}` →
/// `{"status": "approved", "reference"}` or `{"status": "declined", "reason"}`;
/// `POST {url}/refunds` `{idempotencyKey, reference, amount}` → 2xx.
public struct HTTPPaymentProvider: PaymentProvider {
    let settings: PaymentSettings
    let client: HTTPClient

    public init(settings: PaymentSettings, client: HTTPClient = OutboundHTTP.client) {
        self.settings = settings
        self.client = client
    }

    struct Answer: Decodable {
        var status: String
        var reference: String?
        var reason: String?
    }

    public func charge(_ request: ChargeRequest) async throws -> ChargeResult {
        let body: [String: String?] = [
            "idempotencyKey": request.idempotencyKey, "orderId": request.orderID.rawValue,
            "amount": request.amount.description, "customerId": request.customerID,
        ]
        let (status, data) = try await post("charges", body: body, key: request.idempotencyKey)
        guard (200..<300).contains(status) || status == 402 else {
            throw ProviderUnavailable(description: "payment provider answered HTTP \(status)")
        }
        let answer = try JSONDecoder().decode(Answer.self, from: data)
        switch answer.status {
        case "approved": return .approved(reference: answer.reference ?? request.idempotencyKey)
        case "declined": return .declined(reason: answer.reason ?? "declined")
        default: throw ProviderUnavailable(description: "payment provider answered status '\(answer.status)'")
        }
    }

    public func refund(reference: String, amount: Money, idempotencyKey: String) async throws {
        let (status, _) = try await post(
            "refunds", body: ["idempotencyKey": idempotencyKey, "reference": reference, "amount": amount.description],
            key: idempotencyKey)
        guard (200..<300).contains(status) else {
            throw ProviderUnavailable(description: "refund answered HTTP \(status)")
        }
    }

    private func post(_ path: String, body: [String: String?], key: String) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: settings.url.trimmingTrailingSlash + "/" + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: key)
        if let token = settings.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(
            ByteBuffer(data: try JSONSerialization.data(withJSONObject: body.compactMapValues { $0 })))
        do {
            let response = try await client.execute(
                request, timeout: .milliseconds(Int64(settings.timeoutSeconds * 1000)))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), Data(buffer: bytes))
        } catch let error as ProviderUnavailable {
            throw error
        } catch {
            throw ProviderUnavailable(description: "payment provider unreachable: \(error)")
        }
    }
}

/// Used when no provider is configured: card payments wait (and end as dead letters) with a
/// message saying so.
public struct MissingPaymentProvider: PaymentProvider {
    public init() {}
    public func charge(_ request: ChargeRequest) async throws -> ChargeResult {
        throw ProviderUnavailable(description: "no payment provider is configured (ORDERFLOW_PAYMENT_URL)")
    }
    public func refund(reference: String, amount: Money, idempotencyKey: String) async throws {
        throw ProviderUnavailable(description: "no payment provider is configured (ORDERFLOW_PAYMENT_URL)")
    }
}

extension String {
    var trimmingTrailingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
