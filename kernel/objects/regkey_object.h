// RegKeyObject: an open registry key (an HKEY other than the four roots). The key itself lives
// in the registry tree (fsys/registry/key.h), shared by every process; the object keeps it
// alive, so a handle to a key deleted under it still refers to something (its calls answer
// ERROR_KEY_DELETED). Closing the last handle, or the death of its process, drops it.
#pragma once

#include <string>

#include "fsys/registry/key.h"
#include "kernel/core/object.h"

namespace cek::kernel {

class RegKeyObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::RegKey;
    explicit RegKeyObject(fsys::registry::KeyRef key) : KernelObject(kType), key_(std::move(key)) {}
    const fsys::registry::KeyRef& key() const { return key_; }
    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override { return sizeof(*this); }

private:
    fsys::registry::KeyRef key_;
};

}  // namespace cek::kernel
