import Foundation
import NIOCore
import NIOPosix

/// Email over plain SMTP (RFC 5321): EHLO, MAIL FROM, RCPT TO, DATA, QUIT. The message ID is
/// built from the key, so mail systems can recognise a repeat. Customer notifications (the
/// engine) and alert notifications (the monitor) both send through it.
public struct SMTPClient: Sendable {
    let host: String
    let port: Int
    let from: String

    public init(host: String, port: Int, from: String) {
        self.host = host
        self.port = port
        self.from = from
    }

    /// `smtp://host:port`.
    public init?(url: String, from: String) {
        guard let components = URLComponents(string: url), components.scheme == "smtp", let host = components.host
        else { return nil }
        self.init(host: host, port: components.port ?? 25, from: from)
    }

    public func send(to recipient: String, subject: String, message: String, key: String) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var replies = SMTPReplies(inbound.makeAsyncIterator())
            func command(_ line: String?, expect codes: Set<Int>) async throws {
                if let line { try await outbound.write(ByteBuffer(string: line + "\r\n")) }
                let (code, text) = try await replies.next()
                guard codes.contains(code) else {
                    throw SMTPError(
                        description: "SMTP \(line?.split(separator: " ").first ?? "greeting"): \(code) \(text)")
                }
            }
            try await command(nil, expect: [220])
            try await command("EHLO orderflow", expect: [250])
            try await command("MAIL FROM:<\(from)>", expect: [250])
            try await command("RCPT TO:<\(recipient)>", expect: [250, 251])
            try await command("DATA", expect: [354])
            let date = Date().formatted(.iso8601)
            let headers = [
                "From: OrderFlow <\(from)>", "To: <\(recipient)>", "Subject: \(subject)", "Date: \(date)",
                "Message-ID: <\(key.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." })@orderflow>",
                "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            ]
            // Dot-stuffing: a line that starts with "." gets another.
            let body = message.split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.hasPrefix(".") ? "." + $0 : String($0)
            }
            try await command((headers + [""] + body).joined(separator: "\r\n") + "\r\n.", expect: [250])
            try await command("QUIT", expect: [221])
        }
    }
}

/// Reads SMTP replies: lines `NNN-text` continue, `NNN text` ends a reply.
struct SMTPReplies {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending = ""

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func next() async throws -> (Int, String) {
        var text: [String] = []
        while true {
            while let range = pending.range(of: "\r\n") {
                let line = String(pending[..<range.lowerBound])
                pending = String(pending[range.upperBound...])
                text.append(String(line.dropFirst(4)))
                if line.count >= 4, let code = Int(line.prefix(3)),
                    line[line.index(line.startIndex, offsetBy: 3)] == " "
                {
                    return (code, text.joined(separator: " "))
                }
                if line.count == 3, let code = Int(line) { return (code, "") }
            }
            guard let buffer = try await iterator.next() else {
                throw SMTPError(description: "SMTP server closed the connection")
            }
            pending += String(buffer: buffer)
        }
    }
}

/// The mail server could not be reached or refused the message (worth retrying).
public struct SMTPError: Error, CustomStringConvertible {
    public var description: String
}
