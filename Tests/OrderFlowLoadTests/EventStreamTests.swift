import OrderFlowDomain
import Testing

@testable import OrderFlowLoad

@Suite("Reading an event stream")
struct EventStreamTests {
    @Test func eventsEndAtABlankLineWhereverTheChunksBreak() {
        let text =
            "retry: 2000\n\n: keep-alive\n\nid: a-1\nevent: order\ndata: {\"n\":1}\n\nid: a-2\r\ndata: first\r\ndata:second\r\n\r\nevent: reset\ndata: {}\n\n"
        let expected = [
            ServerSentEvent(id: "a-1", event: "order", data: #"{"n":1}"#),
            ServerSentEvent(id: "a-2", event: "message", data: "first\nsecond"),
            // The ID stays until the server sends another.
            ServerSentEvent(id: "a-2", event: "reset", data: "{}"),
        ]
        let bytes = Array(text.utf8)
        // Whole, byte by byte, and cut between the CR and the LF of a CRLF.
        for cuts in [[bytes.count], Array(1...bytes.count), [bytes.firstIndex(of: 13)! + 1, bytes.count]] {
            var parser = EventStreamParser()
            var events: [ServerSentEvent] = []
            var start = 0
            for cut in cuts {
                events += parser.feed(bytes[start..<cut])
                start = cut
            }
            #expect(events == expected, "cut at \(cuts.prefix(3))…")
            #expect(parser.retryMilliseconds == 2000)
        }
    }

    @Test func anEventWithoutDataIsNotAnEventAndAnUnfinishedOneWaits() {
        var parser = EventStreamParser()
        #expect(parser.feed(Array("event: order\n\n".utf8)).isEmpty)
        #expect(parser.feed(Array("data: half".utf8)).isEmpty)
        #expect(parser.feed(Array("\n\n".utf8)) == [ServerSentEvent(id: nil, event: "message", data: "half")])
    }

    @Test func theProbeReadsAnOrderCreatedEventsIDAndCommitTime() {
        let data =
            #"{"id":"k-7","topic":"order","type":"order.created","committedAt":"2026-11-22T03:14:15.926535Z","orderId":"LOAD-1-7","store":"QC-BKK-001"}"#
        let read = StreamLoad.created(data)
        #expect(read?.0 == "LOAD-1-7")
        #expect(read?.1 == Timestamp(rfc3339: "2026-11-22T03:14:15.926535Z"))
        #expect(StreamLoad.created(data.replacingOccurrences(of: "order.created", with: "order.released")) == nil)
        #expect(StreamLoad.created(#"{"type":"order.created","orderId":"X"}"#) == nil)
    }
}
