#include "kernel/objects/open_files.h"

#include <algorithm>

#include "kernel/objects/file_object.h"

namespace cek::kernel {

void OpenFiles::add(const std::u16string& key, FileObject* file) {
    files_[key].push_back(file);
    ++count_;
}

void OpenFiles::remove(const std::u16string& key, FileObject* file) {
    auto it = files_.find(key);
    if (it == files_.end()) return;
    auto& list = it->second;
    auto pos = std::find(list.begin(), list.end(), file);
    if (pos == list.end()) return;
    list.erase(pos);
    --count_;
    if (list.empty()) files_.erase(it);
}

bool OpenFiles::conflicts(const std::u16string& key, bool read, bool write,
                          uint32_t share) const {
    if (!read && !write) return false;
    auto it = files_.find(key);
    if (it == files_.end()) return false;
    for (const FileObject* other : it->second) {
        FileAccess a = other->access();
        if (!a.read && !a.write) continue;
        if ((read && !(other->share() & kShareRead)) || (write && !(other->share() & kShareWrite)))
            return true;
        if ((a.read && !(share & kShareRead)) || (a.write && !(share & kShareWrite))) return true;
    }
    return false;
}

bool OpenFiles::is_open_at_or_under(const std::u16string& key) const {
    if (is_open(key)) return true;
    std::u16string prefix = key + u"\\";
    for (const auto& [k, list] : files_)
        if (k.compare(0, prefix.size(), prefix) == 0) return true;
    return false;
}

uint64_t OpenFiles::mapped_length(const std::u16string& key) const {
    auto it = files_.find(key);
    if (it == files_.end()) return 0;
    uint64_t longest = 0;
    for (const FileObject* f : it->second) longest = std::max(longest, f->mapped_length());
    return longest;
}

}  // namespace cek::kernel
