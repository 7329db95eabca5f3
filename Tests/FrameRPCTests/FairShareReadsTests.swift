import NIOCore
import NIOEmbedded
import Testing

@testable import FrameRPCServer

@Suite("A read's share of a loop's turn")
struct FairShareReadsTests {
    @Test(
        "one read takes the turn's bytes over the loop's open connections, between 128 bytes and 64 KiB, and follows connections as they come and go"
    )
    func shareFollowsConnections() throws {
        let registry = ConnectionRegistry()
        // Calls enough that the bytes bind (frames of the nominal 128 bytes: 4,096 of them fill 512 KiB).
        let reads = FairShareReads(bytesPerTurn: 256 * 1024, callsPerTurn: 4_096, loops: 1, registry: registry)
        let twoLoops = FairShareReads(bytesPerTurn: 256 * 1024, callsPerTurn: 4_096, loops: 2, registry: registry)
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
        open(until: 4_000)
        #expect(reads.share == 128, "never below 128 bytes")
        for channel in channels.dropFirst(8) { registry.remove(channel) }
        #expect(reads.share == 32 * 1024, "back as connections close")
        let buffer = reads.buffer(allocator: ByteBufferAllocator())
        #expect(buffer.capacity == 32 * 1024 && reads.nextBufferSize() == nil)
    }

    @Test("a turn holds callsPerTurn frames of the mean size read, or bytesPerTurn, whichever is less")
    func turnCountsCalls() throws {
        let registry = ConnectionRegistry()
        let sizes = FrameSizes()
        let reads = FairShareReads(
            bytesPerTurn: 64 * 1024,
            callsPerTurn: 256,
            loops: 1,
            registry: registry,
            frameSizes: sizes
        )
        var channels: [EmbeddedChannel] = []
        for _ in 0..<101 {
            let channel = EmbeddedChannel()
            #expect(registry.admit(channel, limit: 10_000))
            channels.append(channel)
        }
        #expect(reads.share == 256 * 128 / 101, "before any frame: 256 calls of the nominal 128 bytes")
        // Requests whose credential crossed the connection once: about 60 bytes each.
        for _ in 0..<2_000 { sizes.record(60) }
        #expect((60...64).contains(sizes.mean), "within the average's rounding")
        #expect(reads.share == 256 * sizes.mean / 101, "256 calls a turn, not 64 KiB of them")
        // Requests carrying a token each: about 430 bytes; the byte budget binds again.
        for _ in 0..<2_000 { sizes.record(430) }
        #expect(reads.share == 64 * 1024 / 101)
        // One huge frame moves the mean, not the bounds.
        sizes.record(4 << 20)
        #expect(reads.share == 64 * 1024 / 101)
    }

    @Test("a connection in the middle of a frame reads 64 KiB at a time, whatever its share")
    func midFrameReadsWhole() throws {
        let registry = ConnectionRegistry()
        let loop = EmbeddedEventLoop()
        let progress = ReadProgress()
        var reads = FairShareReads(bytesPerTurn: 256 * 1024, callsPerTurn: 4_096, loops: 1, registry: registry)
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
