// decode_and_dispatch: well-formed requests reach the kernel; every malformed byte buffer gets a
// failed reply with ERROR_INVALID_PARAMETER and never crashes (run this under ASan/UBSan too).
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernel/dispatch/dispatch.h"
#include "protocol/channel.h"
#include "protocol/messages.h"
#include "protocol/snapshot.h"
#include "protocol/wire.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using proto::ReplyHeader;
using proto::RequestCode;
using proto::RequestHeader;

namespace {

constexpr size_t kBodySizes[] = {
#define CEK_REQUEST(name) sizeof(proto::name##Request),
#include "protocol/requests.def"
#undef CEK_REQUEST
};
static_assert(std::size(kBodySizes) == static_cast<size_t>(RequestCode::Count));

constexpr uint32_t kCodeCount = static_cast<uint32_t>(RequestCode::Count);

// Header + body + extra, exactly that many bytes (so that ASan sees any read past the end).
std::vector<std::byte> raw(uint32_t code, const void* body, size_t body_size,
                           std::span<const std::byte> extra = {}, int64_t size_field = -1) {
    RequestHeader h{};
    h.code = code;
    h.size = size_field >= 0 ? static_cast<uint32_t>(size_field)
                             : static_cast<uint32_t>(sizeof h + body_size + extra.size());
    h.thread_id = 4242;
    std::vector<std::byte> out(sizeof h + body_size + extra.size());
    std::memcpy(out.data(), &h, sizeof h);
    if (body_size != 0) std::memcpy(out.data() + sizeof h, body, body_size);
    if (!extra.empty()) std::memcpy(out.data() + sizeof h + body_size, extra.data(), extra.size());
    return out;
}

template <class Req>
std::vector<std::byte> request(const Req& req, std::span<const std::byte> extra = {}) {
    return raw(static_cast<uint32_t>(proto::RequestTraits<Req>::kCode), &req, sizeof req, extra);
}

std::vector<std::byte> utf16_bytes(const std::u16string& s) {
    std::vector<std::byte> out(s.size() * sizeof(char16_t));
    if (!out.empty()) std::memcpy(out.data(), s.data(), out.size());
    return out;
}

struct Reply {
    ReplyHeader header{};
    std::vector<std::byte> body;

    bool failed() const { return header.failed != 0; }
    bool sets_error() const { return header.set_error != 0; }
    Win32Error error() const { return static_cast<Win32Error>(header.error); }
    template <class T>
    T as() const {
        REQUIRE(body.size() >= sizeof(T));
        T t{};
        std::memcpy(&t, body.data(), sizeof t);
        return t;
    }
};

Reply dispatch(Kernel& k, ProcessId caller, std::span<const std::byte> req) {
    std::vector<std::byte> out(proto::kReplyBytes, std::byte{0xCD});
    const size_t n = kernel::decode_and_dispatch(k, caller, req, out);
    REQUIRE(n >= sizeof(ReplyHeader));
    REQUIRE(n <= out.size());
    Reply r;
    std::memcpy(&r.header, out.data(), sizeof r.header);
    REQUIRE(r.header.size == n);
    r.body.assign(out.begin() + sizeof(ReplyHeader), out.begin() + static_cast<ptrdiff_t>(n));
    return r;
}

// Whether the framing of a request is broken: short buffer, bad size field, unknown code, or a
// body shorter than the request struct.
bool malformed(std::span<const std::byte> buf) {
    RequestHeader h{};
    if (buf.size() < sizeof h) return true;
    std::memcpy(&h, buf.data(), sizeof h);
    if (h.size < sizeof h || h.size > buf.size() || h.code >= kCodeCount) return true;
    return h.size - sizeof h < kBodySizes[h.code];
}

// MapViewReply's writable bit, whichever layout the protocol has (a `writable` field, or a
// `flags` word whose bit 0 is writable).
template <class R>
bool reply_writable(const R& r) {
    if constexpr (requires { r.flags; })
        return (r.flags & 1u) != 0;
    else
        return r.writable != 0;
}

// The one shape every malformed request must produce.
void require_invalid_parameter(const Reply& r) {
    CHECK(r.failed());
    CHECK(r.sets_error());
    CHECK(r.error() == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(r.header.size == sizeof(ReplyHeader));
}

proto::CreateMappingRequest create_request(uint32_t size, uint32_t name_chars = 0,
                                           bool named = false,
                                           uint32_t protect = ce::kPageReadWrite) {
    proto::CreateMappingRequest req{};
    req.file = ce::kInvalidHandle;
    req.protect = protect;
    req.size_low = size;
    req.has_name = named ? 1 : 0;
    req.name_chars = name_chars;
    return req;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Well-formed requests

TEST_CASE("A Null request echoes its cookie and leaves the last error alone",
          "[unit][dispatch]") {
    Scene s;
    auto a = s.attach();
    auto r = dispatch(s.k, a, request(proto::NullRequest{0x1122334455667788ULL}));
    CHECK_FALSE(r.failed());
    CHECK_FALSE(r.sets_error());
    CHECK(r.header.size == sizeof(ReplyHeader) + sizeof(proto::NullReply));
    CHECK(r.as<proto::NullReply>().cookie == 0x1122334455667788ULL);
}

TEST_CASE("CreateMapping over the wire carries the CE 5 last-error rules",
          "[unit][dispatch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Wire name";
    auto name_bytes = utf16_bytes(name);
    auto req = create_request(65536, static_cast<uint32_t>(name.size()), true);

    auto first = dispatch(s.k, a, request(req, name_bytes));
    REQUIRE_FALSE(first.failed());
    CHECK(first.sets_error());
    CHECK(first.error() == Win32Error::ERROR_SUCCESS);
    const uint32_t h = first.as<proto::CreateMappingReply>().handle;
    CHECK(h != 0);

    auto again = dispatch(s.k, b, request(create_request(0, req.name_chars, true), name_bytes));
    REQUIRE_FALSE(again.failed());
    CHECK(again.sets_error());
    CHECK(again.error() == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(again.as<proto::CreateMappingReply>().handle == h);

    auto unnamed = dispatch(s.k, a, request(create_request(4096)));
    REQUIRE_FALSE(unnamed.failed());
    CHECK_FALSE(unnamed.sets_error());

    // has_name 0: name_chars is ignored, whatever it says.
    auto ignored = dispatch(s.k, a, request(create_request(4096, 0xFFFFFFFFu, false)));
    CHECK_FALSE(ignored.failed());

    // has_name with 0 characters: the empty name, a real name.
    auto empty = dispatch(s.k, a, request(create_request(4096, 0, true)));
    REQUIRE_FALSE(empty.failed());
    CHECK(empty.error() == Win32Error::ERROR_SUCCESS);
    auto empty2 = dispatch(s.k, b, request(create_request(0, 0, true)));
    REQUIRE_FALSE(empty2.failed());
    CHECK(empty2.error() == Win32Error::ERROR_ALREADY_EXISTS);

    // Name bytes beyond name_chars (here an odd trailing byte) are ignored.
    auto tail = name_bytes;
    tail.push_back(std::byte{0x41});
    auto trailing = dispatch(s.k, b, request(create_request(0, req.name_chars, true), tail));
    REQUIRE_FALSE(trailing.failed());
    CHECK(trailing.error() == Win32Error::ERROR_ALREADY_EXISTS);
    auto prefix = dispatch(s.k, a, request(create_request(4096, req.name_chars - 1, true), tail));
    REQUIRE_FALSE(prefix.failed());
    CHECK(prefix.error() == Win32Error::ERROR_SUCCESS);  // "Wire nam" is another name
}

TEST_CASE("Kernel errors travel in a failed reply that sets the last error",
          "[unit][dispatch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    std::u16string n260(260, u'n');
    auto too_long = dispatch(s.k, a, request(create_request(4096, 260, true), utf16_bytes(n260)));
    require_invalid_parameter(too_long);
    auto readonly = dispatch(s.k, a, request(create_request(4096, 0, false, ce::kPageReadOnly)));
    require_invalid_parameter(readonly);

    auto close = dispatch(s.k, a, request(proto::CloseHandleRequest{0x1234, 0}));
    CHECK(close.failed());
    CHECK(close.sets_error());
    CHECK(close.error() == Win32Error::ERROR_INVALID_HANDLE);

    auto unmap = dispatch(s.k, a, request(proto::UnmapViewRequest{kWindowBase}));
    CHECK(unmap.failed());
    CHECK(unmap.sets_error());
    CHECK(unmap.error() == Win32Error::ERROR_INVALID_ADDRESS);

    auto map = dispatch(s.k, a, request(proto::MapViewRequest{0x1234, 2, 0, 0, 0}));
    CHECK(map.failed());
    CHECK(map.error() == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("MapView, FlushView, UnmapView and CloseHandle round-trip through the dispatcher",
          "[unit][dispatch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto created = dispatch(s.k, a, request(create_request(10000)));
    REQUIRE_FALSE(created.failed());
    const uint32_t h = created.as<proto::CreateMappingReply>().handle;

    auto mapped = dispatch(s.k, a, request(proto::MapViewRequest{h, ce::kFileMapAllAccess, 0, 3, 0}));
    REQUIRE_FALSE(mapped.failed());
    CHECK_FALSE(mapped.sets_error());
    CHECK(mapped.header.size == sizeof(ReplyHeader) + sizeof(proto::MapViewReply));
    auto v = mapped.as<proto::MapViewReply>();
    CHECK(v.address == v.map_base + 3);
    CHECK(v.map_length >= 10000);
    CHECK(v.kernel_fd >= 0);
    CHECK(reply_writable(v));
    CHECK(v.object_id != 0);

    auto second = dispatch(s.k, a, request(proto::MapViewRequest{h, 0, 0, 3, 16}));
    REQUIRE_FALSE(second.failed());
    CHECK(second.as<proto::MapViewReply>().kernel_fd == -1);

    auto flush = dispatch(s.k, a, request(proto::FlushViewRequest{v.address, 0}));
    CHECK_FALSE(flush.failed());
    auto outside = dispatch(s.k, a, request(proto::FlushViewRequest{kWindowBase - 4096, 0}));
    CHECK(outside.failed());
    CHECK_FALSE(outside.sets_error());  // CE 5: FALSE with the last error untouched

    auto u1 = dispatch(s.k, a, request(proto::UnmapViewRequest{v.address}));
    REQUIRE_FALSE(u1.failed());
    CHECK(u1.as<proto::UnmapViewReply>().release_length == 0);
    auto u2 = dispatch(s.k, a, request(proto::UnmapViewRequest{v.address}));
    REQUIRE_FALSE(u2.failed());
    CHECK(u2.as<proto::UnmapViewReply>().release_base == v.map_base);
    CHECK(u2.as<proto::UnmapViewReply>().release_length == v.map_length);

    auto c1 = dispatch(s.k, a, request(proto::CloseHandleRequest{h, 0}));
    CHECK_FALSE(c1.failed());
    CHECK_FALSE(c1.sets_error());
    auto c2 = dispatch(s.k, a, request(proto::CloseHandleRequest{h, 0}));
    CHECK(c2.failed());
    CHECK(c2.error() == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A first view names its descriptor for the transport to send, unless the caller "
          "still holds that range", "[unit][dispatch][descriptors]") {
    Scene s;
    auto a = s.attach();
    const uint32_t h = dispatch(s.k, a, request(create_request(10000)))
                           .as<proto::CreateMappingReply>().handle;
    // decode_and_dispatch sends nothing: it hands the descriptor back (decision 0008).
    auto send = [&](const proto::MapViewRequest& req, std::span<const std::byte> extra,
                    kernel::Attachment& attachment) {
        std::vector<std::byte> out(proto::kReplyBytes);
        const auto in = request(req, extra);
        REQUIRE(kernel::decode_and_dispatch(s.k, a, in, out, 0, &attachment) > 0);
        proto::MapViewReply v{};
        std::memcpy(&v, out.data() + sizeof(ReplyHeader), sizeof v);
        return v;
    };
    kernel::Attachment first;
    const auto v = send(proto::MapViewRequest{h, ce::kFileMapAllAccess, 0, 0, 0}, {}, first);
    REQUIRE(v.kernel_fd >= 0);
    CHECK(first.fd == v.kernel_fd);
    CHECK((first.dev == v.dev && first.ino == v.ino && first.undo_view == v.address));
    CHECK((v.flags & proto::kViewRevive) == 0);
    kernel::Attachment later{7, 1, 1, 1};  // reset by the call
    CHECK(send(proto::MapViewRequest{h, ce::kFileMapAllAccess, 0, 0, 0}, {}, later).kernel_fd == -1);
    CHECK(later.fd == -1);
    // All views gone; the client says it still holds the range (PROT_NONE): nothing to send.
    REQUIRE_FALSE(dispatch(s.k, a, request(proto::UnmapViewRequest{v.address})).failed());
    REQUIRE_FALSE(dispatch(s.k, a, request(proto::UnmapViewRequest{v.address})).failed());
    proto::LingeringRange held[2] = {
        {v.map_base + (64 << 10), v.map_length, v.dev, v.ino, v.flags, 0},  // another range
        {v.map_base, v.map_length, v.dev, v.ino, v.flags, 0}};
    proto::MapViewRequest again{h, ce::kFileMapAllAccess, 0, 0, 0, 2, 0};
    kernel::Attachment revived{};
    const auto r = send(again, std::as_bytes(std::span(held)), revived);
    CHECK(r.kernel_fd >= 0);
    CHECK((r.flags & proto::kViewRevive) != 0);
    CHECK(revived.fd == -1);
    // Only another range held: the descriptor is sent.
    REQUIRE_FALSE(dispatch(s.k, a, request(proto::UnmapViewRequest{r.address})).failed());
    proto::MapViewRequest other{h, ce::kFileMapRead, 0, 0, 0, 1, 0};
    kernel::Attachment sent{};
    const auto o = send(other, std::as_bytes(std::span(held, 1)), sent);
    CHECK((o.flags & proto::kViewRevive) == 0);
    CHECK(sent.fd == o.kernel_fd);
    // More lingering ranges than any client keeps, or fewer than announced: malformed.
    proto::MapViewRequest too_many{h, ce::kFileMapRead, 0, 0, 0, proto::kMaxLingeringRanges + 1, 0};
    CHECK(dispatch(s.k, a, request(too_many)).error() == Win32Error::ERROR_INVALID_PARAMETER);
    proto::MapViewRequest short_extra{h, ce::kFileMapRead, 0, 0, 0, 3, 0};
    CHECK(dispatch(s.k, a, request(short_extra, std::as_bytes(std::span(held))))
              .error() == Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("Snapshot and SnapshotRead deliver the encoded snapshot in chunks",
          "[unit][dispatch][snapshot]") {
    Scene s;
    auto a = s.attach("reader.exe");
    auto b = s.attach("other.exe");
    // Enough named objects for the snapshot to need several reply-sized chunks.
    for (int i = 0; i < 80; ++i) {
        std::u16string name = u"A fairly long mapping name for chunking #";
        for (char c : std::to_string(i)) name += static_cast<char16_t>(c);
        s.make(i % 2 ? a : b, 4096, &name);
    }

    SECTION("reading before a snapshot was taken fails") {
        auto r = dispatch(s.k, a, request(proto::SnapshotReadRequest{0}));
        require_invalid_parameter(r);
    }
    SECTION("the chunks decode to the kernel's state") {
        auto taken = dispatch(s.k, a, request(proto::SnapshotRequest{0}));
        REQUIRE_FALSE(taken.failed());
        const uint64_t total = taken.as<proto::SnapshotReply>().total_bytes;
        REQUIRE(total > proto::kReplyBytes);
        std::vector<std::byte> bytes;
        int chunks = 0;
        while (bytes.size() < total) {
            auto r = dispatch(s.k, a, request(proto::SnapshotReadRequest{bytes.size()}));
            REQUIRE_FALSE(r.failed());
            auto rep = r.as<proto::SnapshotReadReply>();
            CHECK(rep.total_bytes == total);
            REQUIRE(rep.chunk_bytes > 0);
            REQUIRE(r.body.size() == sizeof rep + rep.chunk_bytes);
            bytes.insert(bytes.end(), r.body.begin() + sizeof rep, r.body.end());
            ++chunks;
        }
        CHECK(chunks >= 2);
        CHECK(bytes.size() == total);
        proto::ByteReader reader(bytes.data(), bytes.size());
        proto::Snapshot snap;
        REQUIRE(proto::decode(reader, snap));
        CHECK(snap.processes.size() == 2);
        CHECK(snap.handles.size() == 82);  // and the two processes' own entries
        CHECK(snap.objects.size() == 82);

        // At the end: an empty chunk; past the end: invalid.
        auto end = dispatch(s.k, a, request(proto::SnapshotReadRequest{total}));
        REQUIRE_FALSE(end.failed());
        CHECK(end.as<proto::SnapshotReadReply>().chunk_bytes == 0);
        require_invalid_parameter(dispatch(s.k, a, request(proto::SnapshotReadRequest{total + 1})));
        require_invalid_parameter(dispatch(s.k, a, request(proto::SnapshotReadRequest{~0ULL})));
        // The snapshot belongs to the process that took it.
        require_invalid_parameter(dispatch(s.k, b, request(proto::SnapshotReadRequest{0})));
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed requests

TEST_CASE("A buffer shorter than a request header fails with ERROR_INVALID_PARAMETER",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    auto full = request(proto::NullRequest{7});
    for (size_t n = 0; n < sizeof(RequestHeader); ++n) {
        INFO(n << " bytes");
        std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
        require_invalid_parameter(dispatch(s.k, a, cut));
    }
    require_invalid_parameter(dispatch(s.k, a, std::span<const std::byte>{}));
}

TEST_CASE("A header size smaller than the header fails with ERROR_INVALID_PARAMETER",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    proto::NullRequest body{7};
    for (int64_t size : {0, 1, 8, 15}) {
        INFO("size field " << size);
        require_invalid_parameter(
            dispatch(s.k, a, raw(static_cast<uint32_t>(RequestCode::Null), &body, sizeof body, {}, size)));
    }
}

TEST_CASE("A header size larger than the buffer fails with ERROR_INVALID_PARAMETER",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    for (uint32_t code = 0; code < kCodeCount; ++code) {
        std::vector<std::byte> body(kBodySizes[code], std::byte{0});
        const int64_t exact = static_cast<int64_t>(sizeof(RequestHeader) + body.size());
        for (int64_t size : {exact + 1, exact + 4096, int64_t{0x7FFFFFFF}, int64_t{0xFFFFFFFF}}) {
            INFO("code " << code << " size field " << size);
            require_invalid_parameter(dispatch(s.k, a, raw(code, body.data(), body.size(), {}, size)));
        }
    }
    CHECK(s.object_handles() == 0);
}

TEST_CASE("Unknown request codes fail with ERROR_INVALID_PARAMETER",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    std::vector<std::byte> body(64, std::byte{0});
    for (uint32_t code : {kCodeCount, kCodeCount + 1, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
        INFO("code " << code);
        require_invalid_parameter(dispatch(s.k, a, raw(code, body.data(), body.size())));
        require_invalid_parameter(dispatch(s.k, a, raw(code, nullptr, 0)));
    }
}

TEST_CASE("A body shorter than its request struct fails with ERROR_INVALID_PARAMETER",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    for (uint32_t code = 0; code < kCodeCount; ++code) {
        for (size_t n = 0; n < kBodySizes[code]; ++n) {
            INFO(proto::request_name(static_cast<RequestCode>(code)) << " body of " << n << " bytes");
            std::vector<std::byte> body(n, std::byte{0x11});
            require_invalid_parameter(dispatch(s.k, a, raw(code, body.data(), body.size())));
        }
    }
    CHECK(s.object_handles() == 0);
}

TEST_CASE("Bytes past the header's size are not part of the request",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    proto::NullRequest body{99};
    // The cookie is in the buffer, but the header says the request ends before it.
    auto cut = raw(static_cast<uint32_t>(RequestCode::Null), &body, sizeof body, {},
                   sizeof(RequestHeader) + 4);
    require_invalid_parameter(dispatch(s.k, a, cut));
    // A correct size with garbage after it is fine.
    auto padded = raw(static_cast<uint32_t>(RequestCode::Null), &body, sizeof body,
                      std::vector<std::byte>(100, std::byte{0xEE}),
                      sizeof(RequestHeader) + sizeof body);
    auto ok = dispatch(s.k, a, padded);
    CHECK_FALSE(ok.failed());
    CHECK(ok.as<proto::NullReply>().cookie == 99);

    // A name that lies beyond header.size is not sent, even if the buffer holds it.
    std::u16string name = u"Hidden";
    auto req = create_request(4096, static_cast<uint32_t>(name.size()), true);
    auto hidden = raw(static_cast<uint32_t>(RequestCode::CreateMapping), &req, sizeof req,
                      utf16_bytes(name), sizeof(RequestHeader) + sizeof req + 2);
    require_invalid_parameter(dispatch(s.k, a, hidden));
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A name_chars larger than the name data fails with ERROR_INVALID_PARAMETER",
          "[unit][dispatch][malformed]") {
    Scene s;
    auto a = s.attach();
    std::u16string name = u"four";
    auto bytes = utf16_bytes(name);
    auto odd = bytes;
    odd.pop_back();  // 7 bytes: three whole characters and a half
    struct Case {
        uint32_t name_chars;
        std::vector<std::byte> data;
    };
    const std::vector<Case> cases{
        {5, bytes},                 // one more than sent
        {4, odd},                   // the last character is cut in half
        {1, {}},                    // no data at all
        {0x7FFFFFFFu, bytes},       // huge
        {0x80000000u, {}},          // * 2 wraps to 0 in 32-bit arithmetic
        {0x80000002u, bytes},       // * 2 wraps to 4 in 32-bit arithmetic
        {0xFFFFFFFFu, bytes},       // the largest
    };
    for (const auto& c : cases) {
        INFO("name_chars " << c.name_chars << " with " << c.data.size() << " bytes");
        auto req = create_request(4096, c.name_chars, true);
        require_invalid_parameter(dispatch(s.k, a, request(req, c.data)));
    }
    CHECK(s.object_handles() == 0);
    CHECK(s.k.window().bytes_in_use() == 0);
}

TEST_CASE("Random byte buffers never crash the dispatcher or leak kernel state",
          "[unit][dispatch][malformed][fuzz]") {
    Scene s(config(64ULL << 20));
    auto a = s.attach();
    std::mt19937_64 rng(0xCEC0FFEEULL);
    auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
    std::vector<uint32_t> handles_seen;
    std::vector<uint64_t> addresses_seen;
    int failures = 0, successes = 0;
    for (int i = 0; i < 30000; ++i) {
        std::vector<std::byte> buf(pick(128));
        for (auto& b : buf) b = static_cast<std::byte>(rng());
        if (buf.size() >= sizeof(RequestHeader) && pick(4) != 0) {
            // Mostly plausible headers, so that the fuzz reaches the handlers.
            RequestHeader h{};
            std::memcpy(&h, buf.data(), sizeof h);
            h.code = static_cast<uint32_t>(pick(kCodeCount + 1));
            if (pick(3) != 0) h.size = static_cast<uint32_t>(buf.size() - pick(8));
            std::memcpy(buf.data(), &h, sizeof h);
            // Sometimes plausible bodies: known handles, addresses, small sizes, RW protection.
            const size_t body = sizeof h;
            auto put32 = [&](size_t at, uint32_t v) {
                if (body + at + 4 <= buf.size()) std::memcpy(buf.data() + body + at, &v, 4);
            };
            auto put64 = [&](size_t at, uint64_t v) {
                if (body + at + 8 <= buf.size()) std::memcpy(buf.data() + body + at, &v, 8);
            };
            if (pick(2) == 0) {
                switch (static_cast<RequestCode>(h.code)) {
                case RequestCode::CreateMapping:
                    put32(0, pick(4) ? ce::kInvalidHandle : static_cast<uint32_t>(rng()));
                    put32(4, pick(2) ? ce::kPageReadWrite : ce::kPageReadOnly);
                    put32(8, pick(8) ? 0 : 1);
                    put32(12, static_cast<uint32_t>(pick(200000)));
                    put32(16, static_cast<uint32_t>(pick(2)));
                    put32(20, static_cast<uint32_t>(pick(40)));
                    break;
                case RequestCode::MapView:
                case RequestCode::CloseHandle:
                    if (!handles_seen.empty())
                        put32(0, handles_seen[pick(handles_seen.size())]);
                    put32(4, static_cast<uint32_t>(pick(8)));
                    put32(8, pick(8) ? 0 : 1);
                    put32(12, static_cast<uint32_t>(pick(70000)));
                    put64(16, pick(70000));
                    put32(24, pick(4) ? 0 : 1);  // MapView: lingering ranges (random) that follow
                    break;
                case RequestCode::UnmapView:
                case RequestCode::FlushView:
                    if (!addresses_seen.empty())
                        put64(0, addresses_seen[pick(addresses_seen.size())] + pick(2));
                    put64(8, pick(70000));
                    break;
                default:
                    break;
                }
            }
        }
        std::vector<std::byte> out(proto::kReplyBytes);
        const size_t n = kernel::decode_and_dispatch(s.k, a, buf, out);
        // Invariants are checked in bulk (the first violation is reported) to keep TAP short.
        ReplyHeader rh{};
        const char* broken = nullptr;
        if (n < sizeof(ReplyHeader) || n > out.size()) {
            broken = "reply size out of bounds";
        } else {
            std::memcpy(&rh, out.data(), sizeof rh);
            if (rh.size != n) broken = "header size differs from the returned size";
            else if (rh.failed > 1 || rh.set_error > 1) broken = "flag bytes not 0/1";
            else if (rh.failed && n != sizeof(ReplyHeader)) broken = "failed reply with a body";
            else if (rh.failed && rh.set_error && rh.error == 0) broken = "failure setting error 0";
            else if (malformed(buf) &&
                     !(rh.failed && rh.set_error &&
                       rh.error == to_u32(Win32Error::ERROR_INVALID_PARAMETER)))
                broken = "malformed request without ERROR_INVALID_PARAMETER";
        }
        if (broken != nullptr) {
            INFO("iteration " << i << ", " << buf.size() << " request bytes, reply " << n);
            FAIL(broken);
        }
        if (rh.failed) {
            ++failures;
            continue;
        }
        ++successes;
        RequestHeader h{};
        std::memcpy(&h, buf.data(), sizeof h);
        if (h.code == static_cast<uint32_t>(RequestCode::CreateMapping)) {
            proto::CreateMappingReply rep{};
            std::memcpy(&rep, out.data() + sizeof rh, sizeof rep);
            handles_seen.push_back(rep.handle);
        } else if (h.code == static_cast<uint32_t>(RequestCode::MapView)) {
            proto::MapViewReply rep{};
            std::memcpy(&rep, out.data() + sizeof rh, sizeof rep);
            addresses_seen.push_back(rep.address);
        }
    }
    CHECK(failures > 0);
    CHECK(successes > 0);
    CHECK_FALSE(handles_seen.empty());
    CHECK_FALSE(addresses_seen.empty());
    // Whatever the fuzz built, the process's exit takes it all away.
    s.k.detach_process(a);
    CHECK(s.object_handles() == 0);
    CHECK(s.k.window().bytes_in_use() == 0);
}

namespace {

// The seqs of the records one TraceRead returns.
std::vector<uint64_t> trace_seqs(kernel::Kernel& k, ProcessId tracer, uint64_t& cursor,
                                 uint64_t& lost) {
    std::vector<std::byte> out(4096);
    const kernel::TraceCursor reply = k.diagnostics().read(tracer, cursor, out);
    const size_t used = reply.bytes;
    std::vector<uint64_t> seqs;
    for (size_t at = 0; at < used;) {
        proto::TraceRecordWire w{};
        std::memcpy(&w, out.data() + at, sizeof w);
        seqs.push_back(w.seq);
        at += sizeof w + w.args_bytes + w.result_bytes;
    }
    REQUIRE(seqs.size() == reply.count);
    cursor = reply.next;
    lost = reply.lost;
    return seqs;
}

}  // namespace

TEST_CASE("The trace ring keeps the last trace_capacity records; a slow tracer is told the rest "
          "were lost",
          "[unit][trace]") {
    KernelConfig c = config();
    c.trace_capacity = 4;
    Scene s(c);
    ProcessId tracer = s.attach("cedump");
    uint64_t cursor = 0, lost = 0;
    CHECK(trace_seqs(s.k, tracer, cursor, lost).empty());  // attached: from now on
    REQUIRE(s.k.diagnostics().tracing());
    for (int i = 0; i < 6; ++i) s.k.diagnostics().record({});
    CHECK(trace_seqs(s.k, tracer, cursor, lost) == std::vector<uint64_t>{3, 4, 5, 6});
    CHECK(lost == 2);
    s.k.diagnostics().record({});
    CHECK(trace_seqs(s.k, tracer, cursor, lost) == std::vector<uint64_t>{7});
    CHECK(lost == 0);

    // The last tracer leaves: the ring goes. A new one holds only what came after it.
    s.k.detach_process(tracer);
    CHECK_FALSE(s.k.diagnostics().tracing());
    ProcessId second = s.attach("cedump");
    cursor = 0;
    CHECK(trace_seqs(s.k, second, cursor, lost).empty());
    s.k.diagnostics().record({});
    uint64_t from_start = 1;  // a cursor from before the ring was made again
    CHECK(trace_seqs(s.k, second, from_start, lost) == std::vector<uint64_t>{8});
    CHECK(lost == 7);
    CHECK(trace_seqs(s.k, second, cursor, lost) == std::vector<uint64_t>{8});
    CHECK(lost == 0);
}

TEST_CASE("A call the server fails after its handler succeeded is traced with the final error",
          "[unit][trace]") {
    // The server refuses a descriptor it cannot send (docs/decisions/0008): the caller gets
    // ERROR_TOO_MANY_OPEN_FILES, and the trace must say so, not the handler's success.
    Scene s;
    ProcessId tracer = s.attach("cedump");
    ProcessId a = s.attach("app");
    uint64_t cursor = 0, lost = 0;
    (void)trace_seqs(s.k, tracer, cursor, lost);
    auto entry = [](ProcessId p, uint32_t tid) {
        kernel::TraceEntry e;
        e.record.process_id = p.raw;
        e.record.thread_id = tid;
        e.result = "0x44";
        return e;
    };
    s.k.diagnostics().record(entry(a, 7));
    s.k.diagnostics().fail_last(a, 8, 4);  // another thread's call: not this record
    s.k.diagnostics().fail_last(tracer, 7, 4);  // another process's
    s.k.diagnostics().record(entry(a, 7));
    s.k.diagnostics().fail_last(a, 7, 4);
    std::vector<std::byte> out(4096);
    const kernel::TraceCursor r = s.k.diagnostics().read(tracer, cursor, out);
    REQUIRE(r.count == 2);
    proto::TraceRecordWire first{}, second{};
    std::memcpy(&first, out.data(), sizeof first);
    std::memcpy(&second, out.data() + sizeof first + first.args_bytes + first.result_bytes,
                sizeof second);
    CHECK(first.failed == 0);
    CHECK(first.result_bytes == 4);
    CHECK(second.failed == 1);
    CHECK(second.set_error == 1);
    CHECK(second.error == 4);  // ERROR_TOO_MANY_OPEN_FILES
    CHECK(second.result_bytes == 0);
}

TEST_CASE("Every request in requests.def has trace text for its arguments and its reply",
          "[unit][trace]") {
    // A missing describe() does not link; this checks that each one reads its own struct
    // (a zeroed body of any request's size decodes) and that every reply says something.
    const std::vector<std::byte> zeros(1024);
    for (uint32_t i = 0; i < static_cast<uint32_t>(proto::RequestCode::Count); ++i) {
        const auto code = static_cast<proto::RequestCode>(i);
        INFO(proto::request_name(code));
        const std::string args = kernel::describe_request(code, zeros);
        CHECK(args.find("<short") == std::string::npos);
        CHECK(args.find("<unknown") == std::string::npos);
        CHECK_FALSE(kernel::describe_reply(code, zeros).empty());
        // A body shorter than the request's struct is reported, never read past its end.
        CHECK(kernel::describe_request(code, {}) == "<short request>");
    }
}
