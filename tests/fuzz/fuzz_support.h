// Shared by the fuzz targets: reading structured values from the fuzzer's bytes, and the check
// that turns a broken invariant into an abort the fuzzer (or the replay test) reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace cek::fuzz {

// The input being replayed (set by the replay test), named in failure messages.
inline const char* current_input = nullptr;

[[noreturn]] inline void fail(const char* file, int line, const char* expr, const std::string& why) {
    std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s%s%s%s%s%s\n", file, line, expr,
                 why.empty() ? "" : " (", why.c_str(), why.empty() ? "" : ")",
                 current_input != nullptr ? " input=" : "",
                 current_input != nullptr ? current_input : "");
    std::fflush(stderr);
    std::abort();
}

// Consumes the input front to back; once it runs dry every read yields zero bytes.
class Input {
public:
    Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    bool empty() const { return pos_ >= size_; }
    size_t remaining() const { return size_ - pos_; }

    template <class T>
    T take() {
        T v{};
        size_t n = std::min(sizeof(T), remaining());
        if (n != 0) std::memcpy(&v, data_ + pos_, n);
        pos_ += n;
        return v;
    }
    uint8_t byte() { return take<uint8_t>(); }
    // A value below `bound` (bound > 0).
    uint32_t below(uint32_t bound) { return byte() % bound; }
    // Up to `max` raw bytes, length first.
    std::span<const uint8_t> bytes(size_t max) {
        const size_t wanted = byte() % (max + 1);  // first: it moves the position
        const size_t n = std::min(wanted, remaining());
        std::span<const uint8_t> out(data_ + pos_, n);
        pos_ += n;
        return out;
    }
    std::span<const uint8_t> rest() {
        std::span<const uint8_t> out(data_ + pos_, remaining());
        pos_ = size_;
        return out;
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

}  // namespace cek::fuzz

#define CEK_FUZZ_CHECK(cond, why) \
    ((cond) ? (void)0 : ::cek::fuzz::fail(__FILE__, __LINE__, #cond, (why)))
