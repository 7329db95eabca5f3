import FrameRPC
import NIOCore
import Testing

@Suite("FrameDecoder")
struct FrameDecoderTests {
    static func encoded(_ frames: [(UInt32, FrameType, [UInt8])], preface: Bool = true) -> ByteBuffer {
        var buffer = ByteBuffer()
        if preface { buffer.writePreface(Preface()) }
        for (stream, type, payload) in frames { buffer.writeFrame(streamID: stream, type: type, payload: payload) }
        return buffer
    }

    /// Feeds `bytes` in chunks of `chunk` bytes and collects every event.
    static func decode(_ bytes: ByteBuffer, chunk: Int, maxFrameSize: Int = 1024) throws -> [FrameDecoder.Event] {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var pending = ByteBuffer()
        var events: [FrameDecoder.Event] = []
        var input = bytes
        while input.readableBytes > 0 {
            var slice = input.readSlice(length: min(chunk, input.readableBytes))!
            pending.writeBuffer(&slice)
            while let event = try decoder.next(from: &pending) { events.append(event) }
            pending.discardReadBytes()
        }
        return events
    }

    static func frames(_ events: [FrameDecoder.Event]) -> [(UInt32, FrameType, [UInt8])] {
        events.compactMap {
            if case .frame(let frame) = $0 {
                return (frame.streamID, frame.type, Array(frame.payload.readableBytesView))
            }
            return nil
        }
    }

    @Test("drip-fed one byte at a time, or in odd chunks, yields the same frames", arguments: [1, 3, 7, 10, 11, 1000])
    func dripFed(chunk: Int) throws {
        let input: [(UInt32, FrameType, [UInt8])] = [
            (1, .request, Array("hello".utf8)), (0, .ping, [1, 2, 3, 4, 5, 6, 7, 8]), (3, .request, []),
            (2, .cancel, []), (5, .request, Array(repeating: 0xAB, count: 300)),
        ]
        let events = try Self.decode(Self.encoded(input), chunk: chunk)
        #expect(events.first == .preface(Preface(version: 1)))
        let frames = Self.frames(events)
        #expect(frames.count == input.count)
        for (got, want) in zip(frames, input) {
            #expect(got.0 == want.0 && got.1 == want.1 && got.2 == want.2)
        }
    }

    @Test("many frames merged in one read all come out, in order")
    func merged() throws {
        let input = (1...50).map { (UInt32($0), FrameType.request, Array("call \($0)".utf8)) }
        let frames = Self.frames(try Self.decode(Self.encoded(input), chunk: 1 << 20))
        #expect(frames.map(\.0) == Array(1...50))
        #expect(frames.last?.2 == Array("call 50".utf8))
    }

    @Test("a truncated frame waits for more bytes and produces nothing")
    func truncated() throws {
        var bytes = Self.encoded([(1, .request, Array(repeating: 7, count: 100))])
        bytes.moveWriterIndex(to: bytes.writerIndex - 1)
        let events = try Self.decode(bytes, chunk: 16)
        #expect(events == [.preface(Preface())])
        // A header cut short likewise.
        var header = Self.encoded([(1, .request, [1])], preface: false)
        header.moveWriterIndex(to: header.readerIndex + 6)
        var decoder = FrameDecoder(maxFrameSize: 1024, expectPreface: false)
        #expect(try decoder.next(from: &header) == nil)
    }

    @Test("an oversize frame is reported by its header, its payload skipped, and the next frame decodes")
    func oversize() throws {
        let big = Array(repeating: UInt8(0x42), count: 5000)
        let events = try Self.decode(
            Self.encoded([(7, .request, big), (9, .request, Array("after".utf8))]),
            chunk: 333,
            maxFrameSize: 1024
        )
        #expect(events.count == 3)
        guard case .oversizeFrame(let header) = events[1] else {
            Issue.record("expected an oversize event, got \(events[1])")
            return
        }
        #expect(header.length == 5000 && header.streamID == 7 && header.type == .request)
        #expect(Self.frames(events).map(\.2) == [Array("after".utf8)])
    }

    @Test("the size check happens before the payload arrives: a 2 GiB header needs no 2 GiB buffer")
    func oversizeBeforeAllocation() throws {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(UInt32(Int32.max), UInt32(1), FrameType.request.rawValue, UInt8(0))
        var decoder = FrameDecoder(maxFrameSize: 4 << 20, expectPreface: false)
        let event = try decoder.next(from: &buffer)
        #expect(event == .oversizeFrame(FrameHeader(length: UInt32(Int32.max), streamID: 1, type: .request, flags: 0)))
    }

    @Test(
        "garbage instead of a preface is refused at the first wrong byte",
        arguments: ["GET / HTTP/1.1\r\n", "F", "FRPX", "\u{0}\u{0}\u{0}\u{5}"]
    )
    func garbagePreface(garbage: String) throws {
        var buffer = ByteBuffer(string: garbage)
        var decoder = FrameDecoder()
        if garbage == "F" {
            #expect(try decoder.next(from: &buffer) == nil)  // so far, so good: wait
            return
        }
        #expect(throws: FrameDecodingError.badPreface) { try decoder.next(from: &buffer) }
    }

    @Test("an unknown frame type cannot be resynchronised and throws")
    func unknownType() throws {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(UInt32(3), UInt32(1), UInt8(0x7F), UInt8(0))
        buffer.writeBytes([1, 2, 3])
        var decoder = FrameDecoder(expectPreface: false)
        #expect(throws: FrameDecodingError.unknownFrameType(FrameType(rawValue: 0x7F))) {
            try decoder.next(from: &buffer)
        }
    }

    @Test("the preface carries the version")
    func prefaceVersion() throws {
        var buffer = ByteBuffer(bytes: Preface(version: 0x0203).bytes)
        var decoder = FrameDecoder()
        #expect(try decoder.next(from: &buffer) == .preface(Preface(version: 0x0203)))
        #expect(Preface().bytes == [0x46, 0x52, 0x50, 0x43, 0, 1, 0, 0])
    }

    @Test("header layout is big-endian u32 length, u32 stream, u8 type, u8 flags")
    func headerLayout() {
        var buffer = ByteBuffer()
        buffer.writeFrame(streamID: 0x0102_0304, type: .response, flags: 0x80, payload: [0xAA, 0xBB])
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 2, 1, 2, 3, 4, 2, 0x80, 0xAA, 0xBB])
    }
}
