// LoadLibraryW, GetProcAddressW/A and FreeLibrary on host shared objects (dlopen).
//
// A CE module name becomes a host one like this: the directory part is dropped (CE searches
// its own module path; here the host's loader path decides), a ".dll" extension is removed,
// and then "lib<name>.so" and "<name>.so" are tried, each as written and in lower case.
// "coredll" is this library itself. A name with any other extension (".so", ".so.6") is
// opened as written. Modules are counted: each LoadLibraryW needs one FreeLibrary, and a
// handle that is not a loaded module fails with ERROR_INVALID_HANDLE instead of reaching dlclose.
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "coredll/api/api.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"

using namespace cek::coredll;

namespace {

struct Modules {
    std::mutex mutex;
    std::unordered_map<void*, uint32_t> loaded;  // dlopen handle -> LoadLibrary count
};

Modules& modules() {
    static auto* m = new Modules;  // outlives static destructors that may still free modules
    return *m;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool ends_with_ci(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && lower(s.substr(s.size() - suffix.size())) == suffix;
}

// The host file names to try for a CE module name, in order.
std::vector<std::string> candidates(const std::string& ce_name) {
    std::string name = ce_name.substr(ce_name.find_last_of("\\/") == std::string::npos
                                          ? 0
                                          : ce_name.find_last_of("\\/") + 1);
    if (name.empty()) return {};
    if (ends_with_ci(name, ".dll")) {
        name.resize(name.size() - 4);
    } else if (name.find('.') != std::string::npos) {
        return {name};  // a host name already
    }
    if (lower(name) == "coredll") {
        Dl_info info{};
        if (dladdr(reinterpret_cast<void*>(&LoadLibraryW), &info) != 0 && info.dli_fname != nullptr)
            return {info.dli_fname};
    }
    std::vector<std::string> out = {"lib" + name + ".so", name + ".so"};
    std::string low = lower(name);
    if (low != name) {
        out.push_back("lib" + low + ".so");
        out.push_back(low + ".so");
    }
    return out;
}

void* symbol(HMODULE module, const char* name) {
    Modules& m = modules();
    // Not deferred: dlsym takes the host loader's lock, which a thread of this process can hold
    // in a dlopen (running constructors) while parked, and a deferred section must end by itself
    // (thread_park.h), never wait for another thread of the process. Held across dlsym so that no
    // FreeLibrary unloads the module meanwhile.
    std::lock_guard lock(m.mutex);
    if (m.loaded.count(module) == 0) {
        set_last_error(ERROR_INVALID_HANDLE);
        return nullptr;
    }
    dlerror();
    void* p = dlsym(module, name);
    if (p == nullptr) {
        log().debug("GetProcAddress: {} not found", name);
        set_last_error(ERROR_PROC_NOT_FOUND);
    }
    return p;
}

// An ordinal (high word 0): host objects have no ordinals.
bool is_ordinal(const void* name) { return (reinterpret_cast<uintptr_t>(name) >> 16) == 0; }

}  // namespace

extern "C" {

HMODULE WINAPI LoadLibraryW(LPCWSTR lpLibFileName) {
    if (lpLibFileName == nullptr || lpLibFileName[0] == 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    std::string name = utf8_of(lpLibFileName);
    for (const auto& host : candidates(name)) {
        void* h = dlopen(host.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) {
            log().debug("LoadLibraryW: {}", dlerror());
            continue;
        }
        Modules& m = modules();
        DeferredLock lock(m.mutex);
        ++m.loaded[h];
        return h;
    }
    set_last_error(ERROR_MOD_NOT_FOUND);
    return nullptr;
}

BOOL WINAPI FreeLibrary(HMODULE hLibModule) {
    Modules& m = modules();
    {
        DeferredLock lock(m.mutex);
        auto it = m.loaded.find(hLibModule);
        if (it == m.loaded.end()) {
            set_last_error(ERROR_INVALID_HANDLE);
            return FALSE;
        }
        if (--it->second == 0) m.loaded.erase(it);
    }
    // One dlclose per dlopen, after the lock: it runs the library's destructors (application
    // code, which may wait for another thread or call back in here). A GetProcAddress that
    // found the module holds the lock until its dlsym is done.
    dlclose(hLibModule);
    return TRUE;
}

FARPROC WINAPI GetProcAddressW(HMODULE hModule, LPCWSTR lpProcName) {
    if (lpProcName == nullptr || is_ordinal(lpProcName)) {
        set_last_error(lpProcName == nullptr ? ERROR_INVALID_PARAMETER : ERROR_PROC_NOT_FOUND);
        return nullptr;
    }
    return reinterpret_cast<FARPROC>(symbol(hModule, utf8_of(lpProcName).c_str()));
}

FARPROC WINAPI GetProcAddressA(HMODULE hModule, LPCSTR lpProcName) {
    if (lpProcName == nullptr || is_ordinal(lpProcName)) {
        set_last_error(lpProcName == nullptr ? ERROR_INVALID_PARAMETER : ERROR_PROC_NOT_FOUND);
        return nullptr;
    }
    return reinterpret_cast<FARPROC>(symbol(hModule, lpProcName));
}

}  // extern "C"
