#include "kernel/objects/file_object.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
      nonblocking_(opened.nonblocking),
      id_(opened.id),
      ce_path_(std::move(opened.ce_path)),
      key_(std::move(key)),
      registry_(registry) {
    registry_.add(key_, this);
}

FileObject::~FileObject() {
    if (position_table_) position_table_->free(position_slot_);
    registry_.remove(key_, this);
    log::file()->debug("file closed id={} path={}", id(),
                       log::text(ce_path_));
}

int FileObject::shared_fd() {
    if (nonblocking_) {
        if (const int rc = fsys::drop_nonblocking(fd_.get()); rc < 0)
            log::file()->error("file id={}: O_NONBLOCK not dropped errno={}", id(), -rc);
        nonblocking_ = false;
    }
    handed_out_ = true;
    return fd_.get();
}

std::optional<PositionTable::Slot> FileObject::position_for(ProcessId caller,
                                                             const Ref<PositionTable>& table) {
    if (position_shared_ || is_directory_) return std::nullopt;
    if (position_table_) {
        // The keeper asking without its table (a handle it will use through the description)
        // must find the position there too.
        if (position_owner_ == caller && table) return position_slot_;
        share_position();
        return std::nullopt;
    }
    // The first process to ask. Without a table it uses the description, and then so must
    // everyone after it.
    // A description no client holds yet is where fsys opened it (only a position moved into
    // it, which makes it shared, moves it otherwise).
    off_t at = -1;
    if (table) at = handed_out_ ? ::lseek(fd_.get(), 0, SEEK_CUR) : 0;
    std::optional<PositionTable::Slot> slot;
    if (at >= 0) slot = table->assign(static_cast<uint64_t>(at));
    if (!slot) {
        position_shared_ = true;
        return std::nullopt;
    }
    position_table_ = table;
    position_slot_ = *slot;
    position_owner_ = caller;
    return slot;
}

std::optional<uint64_t> FileObject::position_of(ProcessId caller) {
    if (position_table_ && !position_shared_) {
        if (position_owner_ == caller) return position_table_->position(position_slot_);
        share_position();
    }
    const off_t at = ::lseek(fd_.get(), 0, SEEK_CUR);
    if (at < 0) return std::nullopt;
    return static_cast<uint64_t>(at);
}

void FileObject::share_position() {
    // The owner's threads that find the slot moving wait for the swap to shared below, so
    // none of them uses the description before it holds the position.
    position_table_->take_over(position_slot_, [&](std::optional<uint64_t> at) {
        if (at && ::lseek(fd_.get(), static_cast<off_t>(*at), SEEK_SET) < 0)
            log::file()->debug("file id={}: position {} refused by the host errno={}", id(), *at,
                               errno);
        else if (!at)
            log::file()->debug("file id={}: its owner's slot held no position", id());
    });
    position_shared_ = true;
    log::file()->debug("file id={}: position moved from process {} into the description", id(),
                       position_owner_.raw);
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
    if (position_table_ && !position_shared_)
        out.emplace_back("position", "kept by process " + std::to_string(position_owner_.raw));
}

}  // namespace cek::kernel
