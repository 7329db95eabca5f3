import FrameRPC
import FuzzSupport
import NIOCore

/// The frame decoder over any byte stream: it never crashes or reads past what it was given, and it
/// decodes the same events, and fails at the same point, however the stream is cut into reads.
///
/// The first byte picks the decoder's settings (preface or not, a small frame limit so that oversize
/// frames are common) and the size of the reads; the rest is the stream.
@_cdecl("FuzzFrames_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzFrames(data, size) }
}

func fuzzFrames(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard let control = bytes.first else { return 0 }
    let stream = Array(bytes.dropFirst())
    let expectPreface = control & 1 == 0
    let maxFrameSize = Int(control >> 1) * 4
    let whole = Outcome(
        decoding: stream,
        maxFrameSize: maxFrameSize,
        expectPreface: expectPreface,
        readSize: max(1, stream.count)
    )
    let pieces = Outcome(
        decoding: stream,
        maxFrameSize: maxFrameSize,
        expectPreface: expectPreface,
        readSize: Int(control % 7) + 1
    )
    require(whole == pieces, "decoding depends on how the stream is read: \(whole) vs \(pieces)")
    // An event never stands for more bytes than arrived, except an oversize frame, whose payload is
    // skipped as it comes.
    var accounted = 0
    for event in whole.events {
        if case .oversizeFrame = event { accounted += Frame.headerSize } else { accounted += event.wireSize }
    }
    require(accounted <= stream.count, "events account for \(accounted) bytes of \(stream.count)")
    return 0
}

struct Outcome: Equatable, CustomStringConvertible {
    var events: [FrameDecoder.Event] = []
    var error: FrameDecodingError?

    /// Feeds `stream` to a decoder `readSize` bytes at a time, the way a channel's reads arrive.
    init(decoding stream: [UInt8], maxFrameSize: Int, expectPreface: Bool, readSize: Int) {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize, expectPreface: expectPreface)
        var buffer = ByteBuffer()
        var offset = 0
        repeat {
            let end = min(stream.count, offset + readSize)
            buffer.writeBytes(stream[offset..<end])
            offset = end
            do {
                while let event = try decoder.next(from: &buffer) {
                    // Copy the payload out: the cumulation buffer is reused by later reads.
                    if case .frame(var frame) = event {
                        frame.payload = ByteBuffer(bytes: frame.payload.readableBytesView)
                        self.events.append(.frame(frame))
                    } else {
                        self.events.append(event)
                    }
                }
            } catch {
                self.error = error
                return
            }
            buffer.discardReadBytes()
        } while offset < stream.count
    }

    var description: String { "\(self.events.count) events, error \(self.error.map { "\($0)" } ?? "none")" }
}
