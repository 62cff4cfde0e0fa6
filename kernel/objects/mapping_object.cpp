#include "kernel/objects/mapping_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "kernel/core/memfd.h"
#include "kernel/log.h"

namespace cek::kernel {

namespace {
uint64_t page_size() {
    static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    return size;
}
std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}
}  // namespace

MappingObject::MappingObject(uint64_t size, bool writable, AddressWindow& window)
    : KernelObject(kType), size_(size), writable_(writable), window_(window) {}

MappingObject::~MappingObject() {
    if (file_ && writable_) (void)flush(0, size_);  // CE 5 FreeMap writes dirty pages back
    if (base_ != 0) window_.retire(base_, std::move(touchers_));
    if (fd_ >= 0) ::close(fd_);
    if (file_ && file_->mapped_by() == id()) file_->set_mapped(0, 0);
    file_ = nullptr;
    if (on_destroy_) on_destroy_();
    log::mapping()->debug("mapping destroyed id={} size={}", id(), size_);
}

void MappingObject::touched_by(ProcessId process) {
    if (std::find(touchers_.begin(), touchers_.end(), process) == touchers_.end())
        touchers_.push_back(process);
}

void MappingObject::forget_toucher(ProcessId process) { std::erase(touchers_, process); }

uint64_t MappingObject::map_length() const {
    return (size_ + page_size() - 1) & ~(page_size() - 1);
}

Result<Ref<MappingObject>> MappingObject::create_ram(uint64_t size, bool writable,
                                                     AddressWindow& window) {
    Ref<MappingObject> m(new MappingObject(size, writable, window));
    // The size is a kernel fact: sealed so that no client can shrink the pages under a view.
    m->fd_ = make_memfd("cek-mapping", m->map_length(), F_SEAL_SEAL);
    if (m->fd_ < 0) {
        log::mapping()->warn("making the mapping memfd failed errno={}", errno);
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    }
    CEK_TRY_VOID(m->place(true));
    return m;
}

Result<Ref<MappingObject>> MappingObject::create_file(Ref<FileObject> file, uint64_t size,
                                                      bool writable, AddressWindow& window,
                                                      bool in_window) {
    Ref<MappingObject> m(new MappingObject(size, writable, window));
    m->file_ = std::move(file);
    CEK_TRY_VOID(m->place(in_window));
    if (m->file_->mapped_by() == 0) m->file_->set_mapped(m->id(), size);  // CE 6 maps a file twice
    return m;
}

Result<void> MappingObject::place(bool in_window) {
    if (file_) {
        dev_ = file_->file_id().dev;  // as fsys read it when the file was opened
        ino_ = file_->file_id().ino;
    } else if (struct stat st {}; ::fstat(fd_, &st) == 0) {
        dev_ = st.st_dev;
        ino_ = st.st_ino;
    }
    if (!in_window) return {};
    auto base = window_.allocate(map_length(), this);
    if (!base) {
        log::mapping()->debug("window full: no room for {} bytes", size_);
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    }
    base_ = *base;
    return {};
}

Result<void> MappingObject::flush(uint64_t /*offset*/, uint64_t /*length*/) {
    if (!file_ || !writable_) return {};  // RAM or read-only: nothing to write (CE: TRUE)
    // The pages are the page cache's: writing them back is the file's data sync.
    if (::fdatasync(file_->fd()) != 0) {
        log::mapping()->warn("flushing mapping id={} failed errno={}", id(), errno);
        return Win32Error::ERROR_WRITE_FAULT;
    }
    return {};
}

void MappingObject::start_write_back(uint64_t offset, uint64_t length) {
    if (!file_ || !writable_ || length == 0) return;
    if (::sync_file_range(file_->fd(), static_cast<off_t>(offset), static_cast<off_t>(length),
                          SYNC_FILE_RANGE_WRITE) != 0)
        log::mapping()->debug("write-back of mapping id={} not started errno={}", id(), errno);
}

void MappingObject::describe(ObjectDetails& out) const {
    out.emplace_back("size", std::to_string(size_));
    out.emplace_back("protection", writable_ ? "PAGE_READWRITE" : "PAGE_READONLY");
    out.emplace_back("backing", file_ ? "file " + std::to_string(file_->id()) : "ram");
    out.emplace_back("address", base_ != 0 ? hex(base_) : "per view");
    out.emplace_back("views", std::to_string(views_));
    // Processes that mapped it by touching its address (CE 5's global view), when there are any.
    if (!touchers_.empty()) out.emplace_back("touched by", std::to_string(touchers_.size()));
}

size_t MappingObject::memory_bytes() const { return sizeof(*this) + name().capacity() * 2; }

}  // namespace cek::kernel
