// Result<T>: a value or a Win32 error, used everywhere below the API edge.
// Deliberately small: C++20 has no std::expected, and errors here are always Win32 codes.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "errors.h"

namespace cek {

// An error wrapper so that Result<Win32Error-like T> stays unambiguous.
struct Error {
    Win32Error code;
};
constexpr Error make_error(Win32Error code) { return Error{code}; }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
    Result(Error e) : v_(std::in_place_index<1>, e.code) {}            // NOLINT
    Result(Win32Error e) : v_(std::in_place_index<1>, e) {}            // NOLINT

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    Win32Error error() const {
        assert(!ok());
        return std::get<1>(v_);
    }
    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

private:
    std::variant<T, Win32Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : err_(e.code) {}      // NOLINT
    Result(Win32Error e) : err_(e) {}      // NOLINT
    bool ok() const { return err_ == Win32Error::ERROR_SUCCESS; }
    explicit operator bool() const { return ok(); }
    Win32Error error() const { return err_; }

private:
    Win32Error err_ = Win32Error::ERROR_SUCCESS;
};

// Propagate an error: `CEK_TRY(auto x, expr);` or `CEK_TRY_VOID(expr);`.
#define CEK_CONCAT_INNER(a, b) a##b
#define CEK_CONCAT(a, b) CEK_CONCAT_INNER(a, b)
#define CEK_TRY(decl, expr)                                              \
    auto CEK_CONCAT(cek_try_, __LINE__) = (expr);                        \
    if (!CEK_CONCAT(cek_try_, __LINE__).ok())                            \
        return ::cek::Error{CEK_CONCAT(cek_try_, __LINE__).error()};     \
    decl = std::move(CEK_CONCAT(cek_try_, __LINE__)).value()
#define CEK_TRY_VOID(expr)                                    \
    do {                                                      \
        auto cek_try_v_ = (expr);                             \
        if (!cek_try_v_.ok()) return ::cek::Error{cek_try_v_.error()}; \
    } while (0)

}  // namespace cek
