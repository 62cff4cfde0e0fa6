// CloseHandle.
#include "coredll/client/file_cache.h"
#include "coredll/client/msg_ring_cache.h"
#include "coredll/client/mutex_word_cache.h"
#include "coredll/api/api.h"

using namespace cek::coredll;
namespace proto = cek::proto;

extern "C" {

// CE 5: FALSE with ERROR_INVALID_HANDLE for values the caller holds no reference on,
// pseudo-handles included; TRUE otherwise, last error untouched.
BOOL WINAPI CloseHandle(HANDLE hObject) {
    proto::CloseHandleRequest req{handle_to_wire(hObject), 0};
    proto::CloseHandleReply rep{};
    // Before the close: once the kernel has it, the value may name a new mutex at once.
    MutexWordCache::instance().forget(req.handle);
    if (!finish(Connection::instance().call(req, rep))) return FALSE;
    FileCache::instance().forget(req.handle);  // this process's reference is gone
    MsgRingCache::instance().forget(req.handle);
    return TRUE;
}

}  // extern "C"
