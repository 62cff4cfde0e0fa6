#include "kernel/objects/regkey_object.h"

#include "common/utf.h"

namespace cek::kernel {

void RegKeyObject::describe(ObjectDetails& out) const {
    std::string path = fsys::registry::root_name(key_->root());
    const std::u16string below = key_->path();
    if (!below.empty()) path += "\\" + utf8_from_utf16(below);
    out.emplace_back("key", path);
    if (key_->is_volatile()) out.emplace_back("volatile", "yes");
    if (key_->deleted()) out.emplace_back("deleted", "yes");
}

}  // namespace cek::kernel
