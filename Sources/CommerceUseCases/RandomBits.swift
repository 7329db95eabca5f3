import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random 128-bit values from the system generator, fetched 256 bytes at a time.
///
/// `SystemRandomNumberGenerator` makes one `getrandom` system call per 64 bits: two per order
/// event, on the committing thread every write waits for. This draws from the same source (the
/// kernel's CSPRNG, through `getentropy`, whose limit is 256 bytes a call) sixteen values per
/// system call.
final class RandomBits: Sendable {
    static let shared = RandomBits()

    private struct Block {
        var words = [UInt64](repeating: 0, count: 32)
        var used = 32
    }

    private let block = Mutex(Block())

    func next() -> (UInt64, UInt64) {
        self.block.withLock { block in
            if block.used == block.words.count {
                let ok = block.words.withUnsafeMutableBytes { getentropy($0.baseAddress, $0.count) == 0 }
                if !ok {
                    // Not expected on Linux ≥ 3.17: the standard library's generator then.
                    var generator = SystemRandomNumberGenerator()
                    for index in block.words.indices { block.words[index] = generator.next() }
                }
                block.used = 0
            }
            defer { block.used += 2 }
            return (block.words[block.used], block.words[block.used + 1])
        }
    }
}
