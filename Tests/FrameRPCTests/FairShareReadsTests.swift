import NIOCore
import NIOEmbedded
import Testing

@testable import FrameRPCServer

@Suite("A read's share of a loop's turn")
struct FairShareReadsTests {
    @Test(
        "one read takes the turn's bytes over the loop's open connections, between 512 bytes and 64 KiB, and follows connections as they come and go"
    )
    func shareFollowsConnections() throws {
        let registry = ConnectionRegistry()
        let reads = FairShareReads(bytesPerTurn: 256 * 1024, loops: 1, registry: registry)
        let twoLoops = FairShareReads(bytesPerTurn: 256 * 1024, loops: 2, registry: registry)
        #expect(reads.share == 64 * 1024, "no connection yet: the largest read")
        var channels: [EmbeddedChannel] = []
        func open(until count: Int) {
            while channels.count < count {
                let channel = EmbeddedChannel()
                #expect(registry.admit(channel, limit: 10_000))
                channels.append(channel)
            }
        }
        open(until: 4)
        #expect(reads.share == 64 * 1024)
        open(until: 8)
        #expect(reads.share == 32 * 1024)
        open(until: 101)
        #expect(reads.share == 256 * 1024 / 101 && twoLoops.share == 256 * 1024 / 51)
        open(until: 1_000)
        #expect(reads.share == 512, "never below 512 bytes")
        for channel in channels.dropFirst(8) { registry.remove(channel) }
        #expect(reads.share == 32 * 1024, "back as connections close")
        let buffer = reads.buffer(allocator: ByteBufferAllocator())
        #expect(buffer.capacity == 32 * 1024 && reads.nextBufferSize() == nil)
    }

    @Test("a connection in the middle of a frame reads 64 KiB at a time, whatever its share")
    func midFrameReadsWhole() throws {
        let registry = ConnectionRegistry()
        let loop = EmbeddedEventLoop()
        let progress = ReadProgress()
        var reads = FairShareReads(bytesPerTurn: 256 * 1024, loops: 1, registry: registry)
        reads.progress = NIOLoopBound(progress, eventLoop: loop)
        var channels: [EmbeddedChannel] = []
        for _ in 0..<500 {
            let channel = EmbeddedChannel()
            #expect(registry.admit(channel, limit: 10_000))
            channels.append(channel)
        }
        #expect(reads.share == 256 * 1024 / 500)
        progress.partialSince = .now()
        #expect(reads.share == 64 * 1024)
        progress.partialSince = nil
        #expect(reads.share == 256 * 1024 / 500)
    }
}
