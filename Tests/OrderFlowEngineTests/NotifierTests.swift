import Foundation
import NIOCore
import NIOPosix
import OrderFlowEngine
import OrderFlowRuntime
import OrderFlowSimulator
import OrderFlowTestSupport
import Synchronization
import Testing

/// A real SMTP conversation with a small sink that speaks the server side of RFC 5321.
final class SMTPSink: Sendable {
    let received = Received()
    let channel: any Channel

    var port: Int { channel.localAddress!.port! }
    var messages: [String] { received.lock.withLock { received.messages } }
    var commands: [String] { received.lock.withLock { received.commands } }

    final class Received: @unchecked Sendable {
        let lock = NSLock()
        var messages: [String] = []
        var commands: [String] = []
    }

    init() async throws {
        let received = self.received
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SMTPServerHandler(received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }
}

final class SMTPServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let received: SMTPSink.Received
    var pending = ""
    var inData = false
    var message = ""

    init(received: SMTPSink.Received) { self.received = received }

    func channelActive(context: ChannelHandlerContext) {
        reply("220 sink ready", context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += String(buffer: unwrapInboundIn(data))
        while let range = pending.range(of: "\r\n") {
            let line = String(pending[..<range.lowerBound])
            pending = String(pending[range.upperBound...])
            if inData {
                if line == "." {
                    inData = false
                    received.lock.withLock { received.messages.append(message) }
                    reply("250 queued", context)
                } else {
                    message += (line.hasPrefix("..") ? String(line.dropFirst()) : line) + "\n"
                }
                continue
            }
            received.lock.withLock { received.commands.append(line) }
            switch line.split(separator: " ").first?.uppercased() ?? "" {
            case "EHLO": reply("250-sink\r\n250 SIZE 1000000", context)
            case "DATA":
                inData = true
                message = ""
                reply("354 go ahead", context)
            case "QUIT":
                reply("221 bye", context)
                context.close(promise: nil)
            default: reply("250 ok", context)
            }
        }
    }

    func reply(_ text: String, _ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
    }
}

@Suite("Notification media", .databaseSlots)
struct NotifierTests {
    @Test func emailGoesOverSMTPWithItsKeyAsMessageID() async throws {
        let sink = try await SMTPSink()
        let sender = SMTPClient(host: "127.0.0.1", port: sink.port, from: "orders@example.com")
        try await sender.send(
            to: "somchai@example.com", subject: "Order ORD-1 is confirmed", message: "Hello\n.dot line",
            key: "notify:ORD-1:released:email")
        await sink.close()
        let commands = sink.commands
        #expect(
            commands.prefix(4) == [
                "EHLO orderflow", "MAIL FROM:<orders@example.com>", "RCPT TO:<somchai@example.com>", "DATA",
            ])
        let message = try #require(sink.messages.first)
        #expect(message.contains("Subject: Order ORD-1 is confirmed"))
        #expect(message.contains("Message-ID: <notifyORD-1releasedemail@orderflow>"))
        #expect(message.hasSuffix("Hello\n.dot line\n"), "dot-stuffed on the wire, restored by the server")
    }

    @Test func anSMTPRefusalIsAnError() async throws {
        let sender = SMTPClient(host: "127.0.0.1", port: try await unusedPort(), from: "orders@example.com")
        await #expect(throws: (any Error).self) {
            try await sender.send(to: "x@example.com", subject: "s", message: "m", key: "k")
        }
    }

    @Test func smsGoesToTheHTTPProvider() async throws {
        try await EngineHarness.run { h in
            let port = try #require(h.simulator.boundPort.withLock { $0 })
            let sms = HTTPSMSSender(url: "http://127.0.0.1:\(port)/sms/messages", token: nil)
            try await sms.send(
                to: "+66812345678", subject: "ignored", message: "Your order is out for delivery", key: "k-1")
            #expect(h.simulator.stats.smsMessages == ["+66812345678: Your order is out for delivery"])
            let missing = HTTPSMSSender(url: "http://127.0.0.1:\(port)/nowhere", token: nil)
            await #expect(throws: (any Error).self) {
                try await missing.send(to: "+66", subject: "", message: "", key: "k-2")
            }
        }
    }

    func unusedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(
            host: "127.0.0.1", port: 0
        ).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}
