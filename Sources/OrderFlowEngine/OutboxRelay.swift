import Foundation
import Logging
import OrderFlowDomain
import OrderFlowPersistence
import OrderFlowRuntime
import ServiceLifecycle

/// Moves outbox events to the downstream channels: fans each event out into one transmission per
/// subscribed channel, then each channel's loop delivers its transmissions as signed webhooks,
/// an order's events one at a time in order, with retries, a circuit breaker, and every attempt
/// recorded.
public final class OutboxRelay: Service, Sendable {
    let transmissions: TransmissionRepository
    public let channels: [DownstreamChannel]
    let sender: WebhookSender
    let settings: EngineSettings
    let clock: any WallClock
    let logger: Logger
    let metrics: PipelineMetrics
    let owner: String
    let wakeup = Wakeup()
    let ready: StartGate

    public init(
        database: Database, settings: EngineSettings, sender: WebhookSender = WebhookSender(), clock: any WallClock,
        logger: Logger, metrics: PipelineMetrics, owner: String, ready: StartGate = StartGate()
    ) {
        self.ready = ready
        transmissions = TransmissionRepository(database: database)
        channels = settings.channels.map(DownstreamChannel.init(settings:))
        self.sender = sender
        self.settings = settings
        self.clock = clock
        var logger = logger
        logger[metadataKey: "component"] = "relay"
        self.logger = logger
        self.metrics = metrics
        self.owner = owner
    }

    /// New outbox events exist: fan out now rather than at the next poll.
    public func wake() { wakeup.signal() }

    public func channel(named name: String) -> DownstreamChannel? { channels.first { $0.settings.name == name } }

    public func run() async throws {
        guard await ready.waitUnlessShuttingDown() else { return }
        await runInBackground { await self.loop() }
    }

    private func loop() async {
        let poll = Duration.milliseconds(Int(settings.pollSeconds * 1000))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    var moved = 0
                    do {
                        moved = try await transmissions.fanOut(settings.subscriptions, limit: 500, now: clock.now())
                    } catch {
                        logger.error("fan-out failed", metadata: ["error": "\(error)"])
                    }
                    if moved > 0 {
                        for channel in channels { channel.wakeup.signal() }
                        if moved < 500 { try? await Task.sleep(for: .seconds(settings.lingerSeconds)) }
                    } else {
                        await wakeup.wait(upTo: poll)
                    }
                }
            }
            for channel in channels {
                group.addTask { [self] in
                    while !Task.isShuttingDownGracefully && !Task.isCancelled {
                        let sent = await deliver(channel)
                        if sent > 0 && sent < channel.settings.concurrency * channel.settings.batchSize {
                            try? await Task.sleep(for: .seconds(settings.lingerSeconds))
                        } else if sent == 0 {
                            let wait = channel.breaker.reopensAt().map {
                                max(0.01, Double($0.microseconds - clock.now().microseconds) / 1_000_000)
                            }
                            await channel.wakeup.wait(
                                upTo: .milliseconds(
                                    Int(min(wait ?? settings.pollSeconds, settings.pollSeconds * 4) * 1000)))
                        }
                    }
                }
            }
            await group.waitForAll()
        }
    }

    /// One pass for tests and tools: fans out everything, then delivers what is due on every channel.
    @discardableResult
    public func runOnce() async throws -> Int {
        while try await transmissions.fanOut(settings.subscriptions, limit: 500, now: clock.now()) > 0 {}
        var sent = 0
        for channel in channels {
            while true {
                let count = await deliver(channel)
                sent += count
                if count == 0 { break }
            }
        }
        return sent
    }

    /// Claims and sends what the channel's circuit allows — that many requests, each of up to
    /// `batchSize` events of different orders — and returns how many events were sent.
    func deliver(_ channel: DownstreamChannel) async -> Int {
        let now = clock.now()
        let permitted = channel.breaker.permits(channel.settings.concurrency, now: now)
        guard permitted > 0 else { return 0 }
        let batch: [Transmission]
        do {
            batch = try await transmissions.claim(
                channel: channel.settings.name, owner: owner, limit: permitted * channel.settings.batchSize,
                lease: settings.leaseSeconds, now: now)
        } catch {
            logger.error(
                "claiming transmissions failed", metadata: ["channel": "\(channel.settings.name)", "error": "\(error)"])
            channel.breaker.releaseProbe()
            return 0
        }
        if batch.isEmpty { channel.breaker.releaseProbe() }
        let answers = await withTaskGroup(of: [Answer].self) { group in
            for start in stride(from: 0, to: batch.count, by: channel.settings.batchSize) {
                let request = Array(batch[start..<min(start + channel.settings.batchSize, batch.count)])
                group.addTask { await self.send(request, on: channel) }
            }
            var answers: [Answer] = []
            for await some in group { answers += some }
            return answers
        }
        await record(answers, on: channel)
        return batch.count
    }

    /// A transmission's answer: the request it went in, and when it was sent and answered.
    struct Answer: Sendable {
        var transmission: Transmission
        var result: WebhookSender.Result
        var startedAt: Timestamp
        var answeredAt: Timestamp
    }

    /// Sends one request of one or more transmissions and returns each one's answer. A batch the
    /// channel refuses outright (a 4xx that no retry changes) is sent again one event at a time,
    /// so only the events the channel refuses fail.
    func send(_ request: [Transmission], on channel: DownstreamChannel) async -> [Answer] {
        let started = clock.now()
        let result = await sender.send(request, to: channel.settings, now: started)
        if request.count > 1, !Self.delivered(result), !WebhookSender.isRetryable(statusCode: result.statusCode) {
            logger.warning(
                "a batch was refused; sending its events one at a time",
                metadata: [
                    "channel": "\(channel.settings.name)", "events": "\(request.count)",
                    "status": "\(result.statusCode ?? 0)",
                ])
            var answers: [Answer] = []
            for transmission in request { answers += await send([transmission], on: channel) }
            return answers
        }
        let answered = clock.now()
        return request.map { Answer(transmission: $0, result: result, startedAt: started, answeredAt: answered) }
    }

    static func delivered(_ result: WebhookSender.Result) -> Bool {
        result.statusCode.map { (200..<300).contains($0) } ?? false
    }

    /// Records what the answers of one round of requests mean — delivered, retried later, or
    /// failed for good (with a dead letter) — in one transaction.
    func record(_ answers: [Answer], on channel: DownstreamChannel) async {
        let finished = answers.map { outcome(of: $0, on: channel) }
        do {
            let recorded = try await transmissions.finish(finished, owner: owner)
            for (finished, recorded) in zip(finished, recorded) {
                let transmission = finished.transmission
                guard recorded else {
                    logger.warning(
                        "transmission lease lost before its outcome was recorded",
                        metadata: ["transmission_id": "\(transmission.id)"])
                    continue
                }
                classified(transmission, finished.outcome, now: finished.at)
                if case .failed(_, let error) = finished.outcome {
                    logger.error(
                        "transmission failed for good; dead letter written",
                        metadata: [
                            "channel": "\(channel.settings.name)", "event_id": "\(transmission.eventID)",
                            "order_id": "\(transmission.orderID)", "error": "\(error)",
                        ])
                }
            }
        } catch {
            logger.error("recording transmissions failed; they will be sent again", metadata: ["error": "\(error)"])
        }
    }

    /// What an answer means for its transmission, counted on the channel's circuit and metrics.
    func outcome(of answer: Answer, on channel: DownstreamChannel) -> TransmissionRepository.Finished {
        let (transmission, result, now) = (answer.transmission, answer.result, answer.answeredAt)
        let attempt = TransmissionAttempt(
            attempt: transmission.attempts, startedAt: answer.startedAt,
            durationMicroseconds: result.durationMicroseconds,
            httpStatus: result.statusCode, error: result.error, responseExcerpt: result.responseExcerpt)
        let outcome: TransmissionRepository.Outcome
        let seconds = Double(result.durationMicroseconds) / 1_000_000
        if let code = result.statusCode, Self.delivered(result) {
            outcome = .delivered(statusCode: code, acknowledged: channel.settings.ackMode == .sync)
            channel.breaker.recordSuccess(at: now)
            metrics.transmission(channel: channel.settings.name, outcome: "delivered", seconds: seconds)
        } else if WebhookSender.isRetryable(statusCode: result.statusCode) {
            channel.breaker.recordFailure(at: now)
            let error = result.error ?? "HTTP \(result.statusCode ?? 0)"
            if transmission.attempts >= channel.settings.maxAttempts {
                outcome = .failed(
                    statusCode: result.statusCode, error: "gave up after \(transmission.attempts) attempts: \(error)")
                metrics.transmission(channel: channel.settings.name, outcome: "failed", seconds: seconds)
            } else {
                let delay = Backoff.delay(
                    attempt: transmission.attempts, base: channel.settings.backoffSeconds,
                    cap: channel.settings.maxBackoffSeconds)
                outcome = .retry(at: now.adding(seconds: delay), statusCode: result.statusCode, error: error)
                metrics.transmission(channel: channel.settings.name, outcome: "retry", seconds: seconds)
            }
        } else {
            // The channel is up but refuses this message: retrying will not change that.
            channel.breaker.recordSuccess(at: now)
            outcome = .failed(statusCode: result.statusCode, error: "refused: \(result.responseExcerpt ?? "")")
            metrics.transmission(channel: channel.settings.name, outcome: "failed", seconds: seconds)
        }
        return TransmissionRepository.Finished(transmission, attempt: attempt, outcome: outcome, at: now)
    }

    /// Counts the classification an outcome gives (a 2xx on an async channel decides nothing yet).
    func classified(_ transmission: Transmission, _ outcome: TransmissionRepository.Outcome, now: Timestamp) {
        switch outcome {
        case .delivered(_, acknowledged: true):
            let status = TransmissionStatus.classify(
                deadline: transmission.ackDeadline, acknowledgedAt: now, failed: false, now: now)
            metrics.classifications.classified(
                channel: transmission.channel, status: status,
                latencySeconds: Double(now.microseconds - transmission.createdAt.microseconds) / 1_000_000)
        case .failed:
            metrics.classifications.classified(channel: transmission.channel, status: .failed)
        case .delivered, .retry:
            break
        }
    }
}
