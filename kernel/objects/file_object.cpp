#include "kernel/objects/file_object.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>

#include "fsys/host.h"
#include "fsys/path.h"
#include "kernel/objects/open_files.h"
#include "kernel/log.h"

namespace cek::kernel {

FileObject::FileObject(fsys::OpenedFile opened, FileAccess access, uint32_t share,
                       uint32_t flags, std::u16string key, OpenFiles& registry)
    : KernelObject(kType),
      fd_(std::move(opened.fd)),
      access_(access),
      share_(share),
      flags_(flags),
      is_directory_(opened.is_directory),
      id_(opened.id),
      ce_path_(std::move(opened.ce_path)),
      key_(std::move(key)),
      registry_(registry) {
    registry_.add(key_, this);
}

FileObject::~FileObject() {
    registry_.remove(key_, this);
    log::file()->debug("file closed id={} path={}", id(),
                       fsys::to_utf8(ce_path_).value_or("?"));
}

void FileObject::describe(ObjectDetails& out) const {
    out.emplace_back("path", fsys::to_utf8(ce_path_).value_or("?"));
    // Asked of the host at snapshot time: where the CE path lives and how big it is now.
    const std::string host = fsys::host_path_of_fd(fd_.get());
    out.emplace_back("host_path", host.empty() ? "?" : host);
    struct stat st {};
    out.emplace_back("size", ::fstat(fd_.get(), &st) == 0 ? std::to_string(st.st_size) : "?");
    std::string access = access_.read ? (access_.write ? "read,write" : "read")
                                      : (access_.write ? "write" : "none");
    out.emplace_back("access", access);
    std::string share = (share_ & kShareRead) ? ((share_ & kShareWrite) ? "read,write" : "read")
                                              : ((share_ & kShareWrite) ? "write" : "none");
    out.emplace_back("share", share);
    char flags[16];
    std::snprintf(flags, sizeof flags, "0x%x", flags_);
    out.emplace_back("flags", flags);
    if (is_directory_) out.emplace_back("directory", "yes");
    if (for_mapping_) out.emplace_back("cffm", "yes");
    if (mapped_by_ != 0) out.emplace_back("mapped_by", std::to_string(mapped_by_));
    out.emplace_back("inode", std::to_string(id_.ino));
}

}  // namespace cek::kernel
