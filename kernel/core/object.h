// KernelObject: the base of every object the kernel owns (files, mappings, searches).
// Objects know nothing of the wire protocol, handles or processes; handles refer to them and the
// kernel facade (kernel.h) implements the CE calls on top. Lifetime: reference counted (Ref<T>);
// a handle entry, a view or another object (a mapping's backing file) each hold one reference.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel/core/ref.h"

namespace cek::kernel {

enum class ObjectType : uint8_t {
#define CEK_OBJECT_TYPE(e, name) e,
#include "kernel/core/object_types.def"
#undef CEK_OBJECT_TYPE
    Count
};

constexpr std::string_view object_type_name(ObjectType t) {
    switch (t) {
#define CEK_OBJECT_TYPE(e, name) \
    case ObjectType::e:          \
        return name;
#include "kernel/core/object_types.def"
#undef CEK_OBJECT_TYPE
    case ObjectType::Count:
        break;
    }
    return "?";
}

using ObjectDetails = std::vector<std::pair<std::string, std::string>>;

class KernelObject : public RefCounted {
public:
    explicit KernelObject(ObjectType type);
    ObjectType type() const { return type_; }
    uint64_t id() const { return id_; }

    // Named objects keep their name here too (the namespace maps names to handle values).
    const std::u16string& name() const { return name_; }
    bool named() const { return named_; }
    void set_name(std::u16string name) {
        name_ = std::move(name);
        named_ = true;
    }

    // Type-specific facts for cedump and logs, in display order.
    virtual void describe(ObjectDetails& out) const = 0;
    // Approximate kernel memory held by this object, for cedump's summary.
    virtual size_t memory_bytes() const { return sizeof(*this) + name_.capacity() * 2; }

private:
    ObjectType type_;
    uint64_t id_;
    bool named_ = false;
    std::u16string name_;
};

// Checked downcast by type tag (no RTTI).
template <class T>
T* object_cast(KernelObject* o) {
    return (o != nullptr && o->type() == T::kType) ? static_cast<T*>(o) : nullptr;
}

}  // namespace cek::kernel
