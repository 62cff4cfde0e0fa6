// Heaps: HeapCreate/Alloc/ReAlloc/Size/Free/Validate/Destroy, GetProcessHeap and the Local*
// calls on the process heap.
//
// A heap is an object that knows its blocks: each block is a malloc'ed header + data, and the
// heap keeps the set of its live blocks, so a pointer that is not one of them is refused
// without being touched, HeapSize reads the size it recorded, and HeapDestroy frees everything
// the heap still owns. Heap handles are checked against the set of live heaps, so a destroyed or
// made-up heap handle fails with ERROR_INVALID_HANDLE. Every heap locks (HEAP_NO_SERIALIZE is
// accepted and ignored): calls on different heaps proceed in parallel under a shared lock of the
// heap registry, which only HeapCreate and HeapDestroy take exclusively.
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

#include "coredll/api/api.h"
#include "coredll/client/log.h"

using namespace cek::coredll;

namespace {

struct alignas(16) BlockHeader {
    size_t size;  // what the caller asked for
    size_t reserved;
};

class Heap {
public:
    explicit Heap(size_t maximum) : maximum_(maximum) {}
    ~Heap() {
        for (void* b : blocks_) std::free(b);
    }

    void* alloc(size_t bytes, bool zero) {
        std::lock_guard lock(mutex_);
        if (!fits(bytes)) return nullptr;
        auto* h = static_cast<BlockHeader*>(zero ? std::calloc(1, sizeof(BlockHeader) + bytes)
                                                 : std::malloc(sizeof(BlockHeader) + bytes));
        if (h == nullptr) return nullptr;
        h->size = bytes;
        try {
            blocks_.insert(h);
        } catch (const std::bad_alloc&) {
            std::free(h);
            return nullptr;
        }
        used_ += bytes;
        return h + 1;
    }

    enum class Outcome { ok, not_mine, no_memory };

    Outcome realloc(void*& p, size_t bytes, bool zero, bool in_place) {
        std::lock_guard lock(mutex_);
        BlockHeader* h = header_of(p);
        if (h == nullptr) return Outcome::not_mine;
        const size_t old = h->size;
        if (bytes > old && !fits(bytes - old)) return Outcome::no_memory;
        // Growth that the allocation already has room for, and every shrink, stays in place.
        if (bytes <= malloc_usable_size(h) - sizeof(BlockHeader)) {
            if (zero && bytes > old) std::memset(reinterpret_cast<char*>(h + 1) + old, 0, bytes - old);
            used_ = used_ - old + bytes;
            h->size = bytes;
            return Outcome::ok;
        }
        if (in_place) return Outcome::no_memory;
        auto* moved = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + bytes));
        if (moved == nullptr) return Outcome::no_memory;
        std::memcpy(moved + 1, h + 1, old);
        if (zero) std::memset(reinterpret_cast<char*>(moved + 1) + old, 0, bytes - old);
        moved->size = bytes;
        try {
            blocks_.insert(moved);
        } catch (const std::bad_alloc&) {
            std::free(moved);
            return Outcome::no_memory;
        }
        blocks_.erase(h);
        std::free(h);
        used_ = used_ - old + bytes;
        p = moved + 1;
        return Outcome::ok;
    }

    bool size_of(const void* p, size_t& size) {
        std::lock_guard lock(mutex_);
        BlockHeader* h = header_of(p);
        if (h == nullptr) return false;
        size = h->size;
        return true;
    }

    bool free(void* p) {
        std::lock_guard lock(mutex_);
        BlockHeader* h = header_of(p);
        if (h == nullptr) return false;
        used_ -= h->size;
        blocks_.erase(h);
        std::free(h);
        return true;
    }

    bool owns(const void* p) {
        std::lock_guard lock(mutex_);
        return header_of(p) != nullptr;
    }

private:
    // The block whose data starts at `p`, found without dereferencing `p`.
    BlockHeader* header_of(const void* p) const {
        auto* h = reinterpret_cast<BlockHeader*>(reinterpret_cast<uintptr_t>(p) - sizeof(BlockHeader));
        return blocks_.count(h) != 0 ? h : nullptr;
    }
    // A heap created with a maximum size never holds more than that.
    bool fits(size_t more) const { return maximum_ == 0 || (more <= maximum_ && used_ <= maximum_ - more); }

    std::mutex mutex_;
    std::unordered_set<BlockHeader*> blocks_;
    size_t maximum_;
    size_t used_ = 0;
};

struct Registry {
    std::shared_mutex mutex;
    std::unordered_set<Heap*> heaps;
    Heap* process_heap;
};

Registry& registry() {
    // Never destroyed: CE code may free memory from its own static destructors.
    static Registry* r = [] {
        auto* reg = new Registry;
        reg->process_heap = new Heap(0);
        reg->heaps.insert(reg->process_heap);
        return reg;
    }();
    return *r;
}

// Runs `fn(heap)` while `h` is known to be a live heap; ERROR_INVALID_HANDLE otherwise.
template <class Fn, class R>
R with_heap(HANDLE h, R failed, Fn fn) {
    Registry& reg = registry();
    std::shared_lock lock(reg.mutex);
    auto* heap = static_cast<Heap*>(h);
    if (reg.heaps.count(heap) == 0) {
        set_last_error(ERROR_INVALID_HANDLE);
        return failed;
    }
    return fn(*heap);
}

constexpr DWORD kAllocFlags = HEAP_NO_SERIALIZE | HEAP_ZERO_MEMORY;
constexpr DWORD kReAllocFlags = HEAP_NO_SERIALIZE | HEAP_ZERO_MEMORY | HEAP_REALLOC_IN_PLACE_ONLY;

LPVOID heap_realloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes) {
    if ((dwFlags & ~kReAllocFlags) != 0 || lpMem == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    return with_heap(hHeap, LPVOID{nullptr}, [&](Heap& heap) -> LPVOID {
        void* p = lpMem;
        switch (heap.realloc(p, dwBytes, (dwFlags & HEAP_ZERO_MEMORY) != 0,
                             (dwFlags & HEAP_REALLOC_IN_PLACE_ONLY) != 0)) {
        case Heap::Outcome::ok:
            return p;
        case Heap::Outcome::not_mine:
            set_last_error(ERROR_INVALID_PARAMETER);
            return nullptr;
        case Heap::Outcome::no_memory:
            break;
        }
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    });
}

}  // namespace

extern "C" {

HANDLE WINAPI HeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize) {
    if ((flOptions & ~DWORD{HEAP_NO_SERIALIZE}) != 0 ||
        (dwMaximumSize != 0 && dwInitialSize > dwMaximumSize)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    Registry& reg = registry();
    auto* heap = new (std::nothrow) Heap(dwMaximumSize);
    if (heap == nullptr) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    std::unique_lock lock(reg.mutex);
    reg.heaps.insert(heap);
    return heap;
}

BOOL WINAPI HeapDestroy(HANDLE hHeap) {
    Registry& reg = registry();
    std::unique_lock lock(reg.mutex);
    auto* heap = static_cast<Heap*>(hHeap);
    if (heap == reg.process_heap) {  // the process heap lives as long as the process
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (reg.heaps.erase(heap) == 0) {
        set_last_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    delete heap;  // frees every block still allocated from it
    return TRUE;
}

LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes) {
    if ((dwFlags & ~kAllocFlags) != 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    return with_heap(hHeap, LPVOID{nullptr}, [&](Heap& heap) -> LPVOID {
        void* p = heap.alloc(dwBytes, (dwFlags & HEAP_ZERO_MEMORY) != 0);
        if (p == nullptr) set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return p;
    });
}

LPVOID WINAPI HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes) {
    return heap_realloc(hHeap, dwFlags, lpMem, dwBytes);
}

SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD, LPCVOID lpMem) {
    return with_heap(hHeap, static_cast<SIZE_T>(-1), [&](Heap& heap) -> SIZE_T {
        size_t size = 0;
        if (!heap.size_of(lpMem, size)) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return static_cast<SIZE_T>(-1);
        }
        return size;
    });
}

BOOL WINAPI HeapFree(HANDLE hHeap, DWORD, LPVOID lpMem) {
    return with_heap(hHeap, BOOL{FALSE}, [&](Heap& heap) -> BOOL {
        if (lpMem == nullptr) return TRUE;
        if (!heap.free(lpMem)) {
            log().debug("HeapFree: {} is no block of heap {}", lpMem, hHeap);
            set_last_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
        return TRUE;
    });
}

BOOL WINAPI HeapValidate(HANDLE hHeap, DWORD, LPCVOID lpMem) {
    Registry& reg = registry();
    std::shared_lock lock(reg.mutex);
    auto* heap = static_cast<Heap*>(hHeap);
    if (reg.heaps.count(heap) == 0) return FALSE;
    return lpMem == nullptr || heap->owns(lpMem) ? TRUE : FALSE;
}

HANDLE WINAPI GetProcessHeap(void) { return registry().process_heap; }

// Local memory: fixed blocks of the process heap (CE has no moveable local memory).
HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes) {
    if ((uFlags & ~UINT{LMEM_ZEROINIT}) != 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    return HeapAlloc(GetProcessHeap(), (uFlags & LMEM_ZEROINIT) != 0 ? HEAP_ZERO_MEMORY : 0, uBytes);
}

// LMEM_MOVEABLE lets the block move; without it LocalReAlloc only resizes in place.
HLOCAL WINAPI LocalReAlloc(HLOCAL hMem, SIZE_T uBytes, UINT uFlags) {
    if ((uFlags & ~UINT{LMEM_MOVEABLE | LMEM_ZEROINIT}) != 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    DWORD flags = ((uFlags & LMEM_ZEROINIT) != 0 ? HEAP_ZERO_MEMORY : 0) |
                  ((uFlags & LMEM_MOVEABLE) != 0 ? 0 : HEAP_REALLOC_IN_PLACE_ONLY);
    HLOCAL p = heap_realloc(GetProcessHeap(), flags, hMem, uBytes);
    if (p == nullptr && GetLastError() == ERROR_INVALID_PARAMETER) set_last_error(ERROR_INVALID_HANDLE);
    return p;
}

SIZE_T WINAPI LocalSize(HLOCAL hMem) {
    SIZE_T size = HeapSize(GetProcessHeap(), 0, hMem);
    if (size == static_cast<SIZE_T>(-1)) {
        set_last_error(ERROR_INVALID_HANDLE);
        return 0;
    }
    return size;
}

HLOCAL WINAPI LocalFree(HLOCAL hMem) {
    if (hMem == nullptr) return nullptr;
    if (!HeapFree(GetProcessHeap(), 0, hMem)) {
        set_last_error(ERROR_INVALID_HANDLE);
        return hMem;
    }
    return nullptr;
}

}  // extern "C"
