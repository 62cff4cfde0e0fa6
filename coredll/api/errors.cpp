// GetLastError / SetLastError: per thread, kept in the shim (CE keeps it in the thread).
#include "coredll/api/api.h"

namespace cek::coredll {
thread_local DWORD t_last_error = 0;
}

using cek::coredll::t_last_error;

extern "C" {

DWORD WINAPI GetLastError(void) { return t_last_error; }

void WINAPI SetLastError(DWORD dwErrCode) { t_last_error = dwErrCode; }

}  // extern "C"
