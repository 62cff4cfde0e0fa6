// ByteWriter / ByteReader: append and read trivially copyable values and length-prefixed strings.
// The reader checks every bound and turns malformed input into a failed read, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cek::proto {

class ByteWriter {
public:
    template <class T>
    void put(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        const auto* p = reinterpret_cast<const std::byte*>(&value);
        bytes_.insert(bytes_.end(), p, p + sizeof(T));
    }
    void put_string(std::string_view s) {
        put(static_cast<uint32_t>(s.size()));
        const auto* p = reinterpret_cast<const std::byte*>(s.data());
        bytes_.insert(bytes_.end(), p, p + s.size());
    }
    void put_u16string(std::u16string_view s) {
        put(static_cast<uint32_t>(s.size()));
        const auto* p = reinterpret_cast<const std::byte*>(s.data());
        bytes_.insert(bytes_.end(), p, p + s.size() * sizeof(char16_t));
    }
    std::vector<std::byte>& bytes() { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

class ByteReader {
public:
    ByteReader(const std::byte* data, size_t size) : data_(data), size_(size) {}

    template <class T>
    bool get(T& out) {
        static_assert(std::is_trivially_copyable_v<T>);
        if (size_ - pos_ < sizeof(T)) return fail();
        std::memcpy(&out, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }
    bool get_string(std::string& out) {
        uint32_t n = 0;
        if (!get(n) || size_ - pos_ < n) return fail();
        out.assign(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n;
        return true;
    }
    bool get_u16string(std::u16string& out) {
        uint32_t n = 0;
        if (!get(n) || (size_ - pos_) / sizeof(char16_t) < n) return fail();
        out.resize(n);
        std::memcpy(out.data(), data_ + pos_, size_t{n} * sizeof(char16_t));
        pos_ += size_t{n} * sizeof(char16_t);
        return true;
    }
    bool ok() const { return ok_; }
    size_t remaining() const { return size_ - pos_; }
    bool at_end() const { return pos_ == size_; }

private:
    bool fail() {
        ok_ = false;
        pos_ = size_;
        return false;
    }
    const std::byte* data_;
    size_t size_;
    size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace cek::proto
