// dispatch_bench: the kernel's own cost per request, without IPC. decode_and_dispatch on a Kernel
// with one fake process: a Null round trip, MapViewOfFile + UnmapViewOfFile of a RAM mapping,
// and a named CreateFileMappingW + CloseHandle. Prints the median of 7 rounds in nanoseconds per
// request (pair). Compare two builds by running both in one session (docs/performance.md).
//   dispatch_bench [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/dispatch/dispatch.h"
#include "kernel/kernel.h"
#include "protocol/ce_constants.h"
#include "protocol/channel.h"
#include "protocol/messages.h"

namespace {

using namespace cek;
using Clock = std::chrono::steady_clock;

template <class Request>
std::vector<std::byte> encode(const Request& r, const void* extra = nullptr,
                              size_t extra_bytes = 0) {
    proto::RequestHeader h{static_cast<uint32_t>(proto::RequestTraits<Request>::kCode),
                           static_cast<uint32_t>(sizeof h + sizeof r + extra_bytes), 1, 0};
    std::vector<std::byte> bytes(h.size);
    std::memcpy(bytes.data(), &h, sizeof h);
    std::memcpy(bytes.data() + sizeof h, &r, sizeof r);
    if (extra_bytes != 0) std::memcpy(bytes.data() + sizeof h + sizeof r, extra, extra_bytes);
    return bytes;
}

template <class Reply>
Reply reply_of(const std::vector<std::byte>& reply) {
    Reply r{};
    std::memcpy(&r, reply.data() + sizeof(proto::ReplyHeader), sizeof r);
    return r;
}

// Nanoseconds per iteration of `body`, median of 7 rounds of `n` iterations.
template <class Body>
double median_ns(int n, Body&& body) {
    std::vector<double> rounds;
    for (int round = 0; round < 7; ++round) {
        const auto start = Clock::now();
        for (int i = 0; i < n; ++i) body();
        rounds.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                         n);
    }
    std::sort(rounds.begin(), rounds.end());
    return rounds[rounds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int n = quick ? 2000 : 200000;
    kernel::KernelConfig config;
    config.window_base = 0x200000000000;
    config.window_size = uint64_t{1} << 36;
    kernel::Kernel k(config);
    const kernel::ProcessId p = k.attach_process(1, "dispatch_bench", false).value();
    std::vector<std::byte> reply(proto::kReplyBytes);
    kernel::LastError le;
    const auto mapping = k.create_mapping(p, kernel::HandleValue{ce::kInvalidHandle},
                                          ce::kPageReadWrite, 0, 64 * 1024, nullptr, le);
    if (!mapping) {
        std::fprintf(stderr, "dispatch_bench: CreateFileMappingW failed: %u\n",
                     to_u32(mapping.error()));
        return 1;
    }
    const auto null = encode(proto::NullRequest{7});
    const auto map = encode(proto::MapViewRequest{mapping.value().raw, ce::kFileMapWrite, 0, 0, 0});
    const std::u16string name = u"dispatch-bench";
    const auto create =
        encode(proto::CreateMappingRequest{ce::kInvalidHandle, ce::kPageReadWrite, 0, 64 * 1024, 1,
                                           static_cast<uint32_t>(name.size())},
               name.data(), name.size() * sizeof(char16_t));

    const double null_ns =
        median_ns(n * 10, [&] { kernel::decode_and_dispatch(k, p, null, reply); });
    const double view_ns = median_ns(n, [&] {
        kernel::decode_and_dispatch(k, p, map, reply);
        const auto unmap =
            encode(proto::UnmapViewRequest{reply_of<proto::MapViewReply>(reply).address});
        kernel::decode_and_dispatch(k, p, unmap, reply);
    });
    const double named_ns = median_ns(n / 10, [&] {
        kernel::decode_and_dispatch(k, p, create, reply);
        const auto close =
            encode(proto::CloseHandleRequest{reply_of<proto::CreateMappingReply>(reply).handle, 0});
        kernel::decode_and_dispatch(k, p, close, reply);
    });
    std::printf(
        "Null %.1f ns\nMapView + UnmapView %.1f ns\nnamed CreateMapping + CloseHandle %.1f ns\n",
        null_ns, view_ns, named_ns);
    return 0;
}
