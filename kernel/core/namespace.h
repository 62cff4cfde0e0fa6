// NameSpace: the kernel's named objects (docs/semantics/names.md). CE 5 gives every object type
// a namespace of its own (an event and a mapping may share a name), compares names exactly
// (case-sensitive) and allows at most 259 characters. A name belongs to an object with handles:
// it is bound when the object's first handle is made and unbound when its last handle goes
// (CE 5: its one entry dies; CE 6: its handle count, views included, reaches 0).
//
// The rule every Create* of a named object follows, "look the name up first, then validate"
// (so that the open-by-create idiom works with any other arguments), is Kernel::create_named;
// this class only keeps the names.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "kernel/core/ids.h"
#include "kernel/core/object.h"

namespace cek::kernel {

class NameSpace {
public:
    // ERROR_INVALID_PARAMETER for a name longer than CE allows.
    static Result<void> check(std::u16string_view name);

    // The object that holds `name` among objects of `type`, or null. Not a reference: a bound
    // object has handles, which hold it, and loses its name with its last one.
    KernelObject* find(ObjectType type, const std::u16string& name) const;
    void bind(ObjectType type, const std::u16string& name, KernelObject* object);
    void unbind(ObjectType type, const std::u16string& name);

    size_t memory_bytes() const;

private:
    using Names = std::unordered_map<std::u16string, KernelObject*>;
    Names& of(ObjectType type) { return spaces_[static_cast<size_t>(type)]; }
    const Names& of(ObjectType type) const { return spaces_[static_cast<size_t>(type)]; }

    std::array<Names, static_cast<size_t>(ObjectType::Count)> spaces_;
};

}  // namespace cek::kernel
