// Fuzz target: the request decoder and dispatcher (kernel/dispatch/dispatch.h) on a Kernel with two fake
// processes, with or without a CE file system in a fresh temporary store.
//
// Input: a flags byte (bit 0: file system, bit 1: a 16-entry handle table, bit 2: the ce6
// personality, one handle table per process), then requests until
// the input ends. Each request starts with a byte: bit 7 picks the caller, bit 6 says the bytes
// that follow are the whole request as sent (header included, any size field); otherwise the
// low bits pick a code from requests.def and the header is made to fit the body. Then a length
// byte and that many bytes (one more length byte extends it by 256 for raw requests).
//
// Every reply is checked for shape (harness), the kernel's invariants after every request, and
// at the end both processes die: nothing may be left, and no descriptor may leak.
#include "kernel_harness.h"

using namespace cek;
using namespace cek::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    const uint8_t flags = in.byte();
    Harness h((flags & 1) != 0, (flags & 2) != 0 ? 16 : kernel::HandleTable::kMaxEntries,
              (flags & 4) != 0 ? 6 : 5);
    const ProcessId procs[2] = {h.attach(), h.attach()};
    for (int steps = 0; !in.empty() && steps < 64; ++steps) {
        const uint8_t kind = in.byte();
        const ProcessId caller = procs[kind >> 7];
        if ((kind & 0x40) != 0) {
            size_t len = in.byte();
            if ((len & 0x80) != 0) len = (len & 0x7F) | (size_t{in.byte()} << 7);
            len = std::min(len, in.remaining());
            std::vector<std::byte> raw(len);
            for (auto& b : raw) b = std::byte{in.byte()};
            h.send(caller, raw);
        } else {
            const uint32_t code = (kind & 0x3F) % kCodeCount;
            auto body = in.bytes(255);
            h.send(caller, Harness::encode(code, body.data(), body.size(), {}));
        }
        h.check_invariants();
    }
    h.finish({procs[0], procs[1]});
    return 0;
}
