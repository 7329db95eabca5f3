import CFuzzDriver

/// libFuzzer's driver over `test`: each target's `<Target>_main` (the entry point SwiftPM gives an
/// executable) calls this with its own arguments.
public func runFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    commerce_fuzz_main(argc, argv, test)
}

/// A property of the code under test: when it does not hold, the process stops with `message`
/// (kept in release builds, unlike `precondition`'s), and libFuzzer keeps the input.
@inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
