/*
 * <windows.h> for CEKernel's coredll: the Windows CE types, constants and functions this
 * library implements, with the Win32 ABI (DWORD/LONG 32-bit, HANDLE a pointer, WCHAR 16-bit).
 * Build CE sources with -fshort-wchar to keep L"..." literals; otherwise WCHAR is char16_t and
 * TEXT("x") gives u"x". Usable from C (C99 or later) and C++.
 */
#ifndef CEKERNEL_WINDOWS_H
#define CEKERNEL_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

/* The declarations live in cekernel/, one header per API family, included relative to this file
 * (so from the source tree and from an installed include/cekernel/ alike). */
#include "cekernel/base.h"
#include "cekernel/errors.h"
#include "cekernel/files.h"
#include "cekernel/sync.h"
#include "cekernel/misc.h"
#include "cekernel/registry.h"
#include "cekernel/process.h"

#endif /* CEKERNEL_WINDOWS_H */
