import Foundation
import NIOCore
import NIOPosix
import OrderFlowDomain
import OrderFlowEngine
import Synchronization
import Testing

/// Answers every request on its port with one raw HTTP response, and counts the requests.
final class CannedHTTPServer: Sendable {
    let channel: any Channel
    let requests: Counter

    final class Counter: Sendable {
        private let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    var port: Int { channel.localAddress!.port! }

    init(response: String) async throws {
        let requests = Counter()
        self.requests = requests
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(response: response, requests: requests))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let response: String
        let requests: Counter

        init(response: String, requests: Counter) {
            self.response = response
            self.requests = requests
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // One request a connection is all a test sends; the first bytes of it are enough.
            requests.add()
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}

@Suite("Webhook delivery")
struct WebhookSenderTests {
    @Test func aRedirectIsTheChannelsAnswerNotAPlaceToGo() async throws {
        let elsewhere = try await CannedHTTPServer(response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let redirecting = try await CannedHTTPServer(
            response:
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:\(elsewhere.port)/in\r\nContent-Length: 0\r\n\r\n"
        )
        defer {
            Task {
                await elsewhere.close()
                await redirecting.close()
            }
        }
        let now = Timestamp(microseconds: 1_800_000_000_000_000)
        let transmission = Transmission(
            id: 1, outboxID: 1, eventID: "ev-1", eventType: "order.created", channel: "commerce",
            orderID: OrderID("ORD-1"), state: .pending,
            attempts: 1, nextAttemptAt: now, payload: "{}", createdAt: now, ackDeadline: now.adding(seconds: 30),
            classification: .pending)
        let channel = ChannelSettings(name: "commerce", url: "http://127.0.0.1:\(redirecting.port)/events", secret: "s")
        let result = await WebhookSender().send([transmission], to: channel, now: now)
        #expect(result.statusCode == 307)
        #expect(!WebhookSender.isRetryable(statusCode: result.statusCode), "a redirect fails the transmission for good")
        #expect(
            redirecting.requests.count == 1 && elsewhere.requests.count == 0, "the signed payload went nowhere else")
    }
}
