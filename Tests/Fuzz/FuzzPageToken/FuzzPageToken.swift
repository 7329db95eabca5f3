import CommerceDomain
import CommerceService
import FuzzSupport

/// Any string as a `page_token`: it is refused with `INVALID_PAGE_TOKEN`, or it is exactly the token
/// the server issues for the key it reads, and every key the server issues reads back as itself.
@_cdecl("FuzzPageToken_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzPageToken(data, size) }
}

func fuzzPageToken(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let token = String(decoding: bytes, as: UTF8.self)
    do {
        if let key = try PageToken.after(token) {
            require(key >= 0, "token \(token) read as negative key \(key)")
            require(PageToken.token(after: key) == token, "token \(token) was accepted but never issued")
        } else {
            require(token.isEmpty, "a non-empty token read as the first page")
        }
    } catch {
        require(error.reason == .invalidPageToken && error.kind == .invalidArgument, "token refused with \(error)")
    }
    // The issuing side, for a key made of the input's first bytes.
    if bytes.count >= 8 {
        let key = Int64(bitPattern: bytes.loadUnaligned(as: UInt64.self)) & Int64.max
        require(try! PageToken.after(PageToken.token(after: key)) == key, "the token for \(key) does not read back")
    }
    return 0
}
