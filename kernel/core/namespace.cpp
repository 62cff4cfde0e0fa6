#include "kernel/core/namespace.h"

#include "protocol/ce_constants.h"

namespace cek::kernel {

Result<void> NameSpace::check(std::u16string_view name) {
    if (name.size() > ce::kMaxNameChars) return Win32Error::ERROR_INVALID_PARAMETER;
    return {};
}

KernelObject* NameSpace::find(ObjectType type, const std::u16string& name) const {
    const Names& names = of(type);
    auto it = names.find(name);
    return it == names.end() ? nullptr : it->second;
}

void NameSpace::bind(ObjectType type, const std::u16string& name, KernelObject* object) {
    of(type).emplace(name, object);
}

void NameSpace::unbind(ObjectType type, const std::u16string& name) { of(type).erase(name); }

size_t NameSpace::memory_bytes() const {
    size_t memory = 0;
    for (const Names& names : spaces_)
        for (const auto& [name, h] : names) memory += sizeof(h) + 48 + name.capacity() * 2;
    return memory;
}

}  // namespace cek::kernel
