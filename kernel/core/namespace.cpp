#include "kernel/core/namespace.h"

#include "protocol/ce_constants.h"

namespace cek::kernel {

Result<void> NameSpace::check(std::u16string_view name) {
    if (name.size() > ce::kMaxNameChars) return Win32Error::ERROR_INVALID_PARAMETER;
    return {};
}

std::optional<HandleValue> NameSpace::find(ObjectType type, const std::u16string& name) const {
    const Names& names = of(type);
    auto it = names.find(name);
    if (it == names.end()) return std::nullopt;
    return it->second;
}

void NameSpace::bind(ObjectType type, const std::u16string& name, HandleValue handle) {
    of(type).emplace(name, handle);
}

void NameSpace::unbind(ObjectType type, const std::u16string& name) { of(type).erase(name); }

size_t NameSpace::memory_bytes() const {
    size_t memory = 0;
    for (const Names& names : spaces_)
        for (const auto& [name, h] : names) memory += sizeof(h) + 48 + name.capacity() * 2;
    return memory;
}

}  // namespace cek::kernel
