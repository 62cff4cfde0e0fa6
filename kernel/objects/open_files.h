// OpenFiles: every open FileObject, by file, with CE's sharing rules between them, for the opens
// and the operations that must refuse an open or mapped file (delete, move, truncate below a
// mapping). It lives beside FileObject because the sharing policy is the files' own.
//
// Files are keyed by their folded canonical CE path: the kernel is the only writer under the
// root and refuses to move or delete open files, so an open file's key stays its name.
// Sharing (docs/semantics/files.md §4): an open that reads needs FILE_SHARE_READ from every other
// open of the file and vice versa, likewise for writes; an open with neither access shares
// everything in both roles.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace cek::kernel {

class FileObject;

inline constexpr uint32_t kShareRead = 0x1;
inline constexpr uint32_t kShareWrite = 0x2;

class OpenFiles {
public:
    void add(const std::u16string& key, FileObject* file);
    void remove(const std::u16string& key, FileObject* file);

    bool conflicts(const std::u16string& key, bool read, bool write, uint32_t share) const;
    bool is_open(const std::u16string& key) const { return files_.count(key) != 0; }
    // `key` itself or anything below it (a folder holding an open file) is open.
    bool is_open_at_or_under(const std::u16string& key) const;
    // The longest mapping over the file (0: not mapped).
    uint64_t mapped_length(const std::u16string& key) const;
    size_t size() const { return count_; }

private:
    std::unordered_map<std::u16string, std::vector<FileObject*>> files_;
    size_t count_ = 0;
};

}  // namespace cek::kernel
