// Maps a memfd (a channel or the kernel page) with Boost.Interprocess's mapped_region.
// Boost has no memfd type, so FdMappable adapts a descriptor to its MemoryMappable concept.
// Only for memory the two sides exchange; never for views, which need fixed addresses.
#pragma once

#include <boost/interprocess/mapped_region.hpp>

#include <cstddef>

namespace cek::proto {

class FdMappable {
public:
    explicit FdMappable(int fd) : fd_(fd) {}
    boost::interprocess::mapping_handle_t get_mapping_handle() const {
        return boost::interprocess::ipcdetail::mapping_handle_from_file_handle(fd_);
    }

private:
    int fd_;
};

// Throws boost::interprocess::interprocess_exception on failure; callers turn that into an
// error code at the IPC edge.
inline boost::interprocess::mapped_region map_shared(int fd, size_t size, bool writable) {
    return boost::interprocess::mapped_region(
        FdMappable(fd), writable ? boost::interprocess::read_write : boost::interprocess::read_only,
        0, size);
}

}  // namespace cek::proto
