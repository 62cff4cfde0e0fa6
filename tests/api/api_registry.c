/* api_registry: the registry API end to end from a plain C program built with -fshort-wchar,
 * against a private kernel: every call's return code (ce-kernel-objects.md §6.4,
 * docs/semantics/registry.md §2), the checks the shim makes itself (NULL pointers, buffer sizes),
 * the last error never touched, and values and subkey paths larger than a channel slot.
 * Prints "ok" and exits 0 when every check passed; prints each failed check. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "api_registry: line %d: %s\n", __LINE__, #cond);              \
            ++failures;                                                                   \
        }                                                                                 \
    } while (0)

#define SENTINEL 0xDEADBEEF

static BYTE big[4097];
static BYTE back[4097];

int main(void) {
    HKEY k = NULL, k2 = NULL;
    DWORD disp = 0, type = 0, size = 0, v = 0;
    SetLastError(SENTINEL);

    /* RegCreateKeyExW: dispositions, NULL result pointer, bad roots, limits. */
    CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"Software\\ApiTest", 0, L"cls", 0, 0, NULL, &k,
                          &disp) == ERROR_SUCCESS && disp == REG_CREATED_NEW_KEY);
    CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\apitest", 0, NULL, 0, 0, NULL, &k2,
                          &disp) == ERROR_SUCCESS && disp == REG_OPENED_EXISTING_KEY);
    CHECK(RegCloseKey(k2) == ERROR_SUCCESS);
    CHECK(RegCloseKey(k2) == ERROR_INVALID_HANDLE);
    CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"X", 0, NULL, 0, 0, NULL, NULL, NULL) ==
          ERROR_INVALID_PARAMETER);
    CHECK(RegCreateKeyExW((HKEY)(uintptr_t)0x80000005u, L"X", 0, NULL, 0, 0, NULL, &k2, NULL) ==
          ERROR_INVALID_HANDLE);
    CHECK(RegCreateKeyExW(NULL, L"X", 0, NULL, 0, 0, NULL, &k2, NULL) == ERROR_INVALID_HANDLE);
    CHECK(RegCreateKeyExW(k, L"a\\b\\c\\d\\e\\f\\g\\h\\i\\j\\k\\l\\m", 0, NULL, 0, 0, NULL, &k2,
                          &disp) == ERROR_SUCCESS); /* 16 levels with HKLM, Software, ApiTest */
    CHECK(RegCloseKey(k2) == ERROR_SUCCESS);
    CHECK(RegCreateKeyExW(k, L"a\\b\\c\\d\\e\\f\\g\\h\\i\\j\\k\\l\\m\\n", 0, NULL, 0, 0, NULL,
                          &k2, &disp) == ERROR_INVALID_PARAMETER);
    {
        WCHAR name[300];
        int i;
        for (i = 0; i < 256; ++i) name[i] = L'n';
        name[256] = 0;
        CHECK(RegCreateKeyExW(k, name, 0, NULL, 0, 0, NULL, &k2, NULL) == ERROR_INVALID_PARAMETER);
        CHECK(RegSetValueExW(k, name, 0, REG_DWORD, (const BYTE*)&v, 4) == ERROR_INVALID_PARAMETER);
        name[255] = 0;
        CHECK(RegSetValueExW(k, name, 0, REG_DWORD, (const BYTE*)&v, 4) == ERROR_SUCCESS);
    }

    /* RegOpenKeyExW. */
    CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Software\\Missing", 0, 0, &k2) == ERROR_FILE_NOT_FOUND);
    CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Software\\ApiTest", 0, 0, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(RegOpenKeyExW(k, NULL, 0, 0, &k2) == ERROR_SUCCESS && k2 != k);
    CHECK(RegCloseKey(k2) == ERROR_SUCCESS);

    /* RegSetValueExW / RegQueryValueExW. */
    v = 0x12345678;
    CHECK(RegSetValueExW(k, L"Dw", 0, REG_DWORD, (const BYTE*)&v, sizeof v) == ERROR_SUCCESS);
    CHECK(RegSetValueExW(k, L"Odd", 0, 0xBAAD, (const BYTE*)"x", 1) == ERROR_SUCCESS);
    CHECK(RegSetValueExW(k, L"Null", 0, REG_BINARY, NULL, 4) == ERROR_INVALID_PARAMETER);
    CHECK(RegSetValueExW(k, L"Empty", 0, REG_BINARY, NULL, 0) == ERROR_SUCCESS);
    size = sizeof v;
    v = 0;
    CHECK(RegQueryValueExW(k, L"dw", NULL, &type, (BYTE*)&v, &size) == ERROR_SUCCESS &&
          type == REG_DWORD && v == 0x12345678 && size == 4);
    size = 0;
    CHECK(RegQueryValueExW(k, L"Odd", NULL, &type, NULL, &size) == ERROR_SUCCESS &&
          type == 0xBAAD && size == 1);
    size = 2;
    CHECK(RegQueryValueExW(k, L"Dw", NULL, NULL, (BYTE*)&v, &size) == ERROR_MORE_DATA && size == 4);
    CHECK(RegQueryValueExW(k, L"Dw", NULL, NULL, (BYTE*)&v, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(RegQueryValueExW(k, L"Nothing", NULL, NULL, NULL, NULL) == ERROR_FILE_NOT_FOUND);
    size = 0;
    CHECK(RegQueryValueExW(k, L"Empty", NULL, &type, NULL, &size) == ERROR_SUCCESS && size == 0);

    /* 4,096 bytes work and come back whole; 4,097 fail. */
    {
        int i;
        for (i = 0; i < 4097; ++i) big[i] = (BYTE)(i * 13);
        CHECK(RegSetValueExW(k, L"Big", 0, REG_BINARY, big, 4096) == ERROR_SUCCESS);
        size = sizeof back;
        memset(back, 0, sizeof back);
        CHECK(RegQueryValueExW(k, L"Big", NULL, &type, back, &size) == ERROR_SUCCESS &&
              size == 4096 && memcmp(big, back, 4096) == 0);
        CHECK(RegSetValueExW(k, L"Big", 0, REG_BINARY, big, 4097) == ERROR_INVALID_PARAMETER);
        CHECK(RegSetValueExW(k, L"Big", 0, REG_BINARY, big, 5120) == ERROR_INVALID_PARAMETER);
    }

    /* Enumeration and RegQueryInfoKeyW. */
    {
        WCHAR name[300], cls[300];
        DWORD n = 300, c = 300, subkeys = 0, values = 0, maxname = 0, maxclass = 9, maxvname = 0, maxdata = 0;
        CHECK(RegEnumKeyExW(k, 0, name, &n, NULL, cls, &c, NULL) == ERROR_SUCCESS && n == 1 &&
              name[0] == L'a');
        n = 300;
        CHECK(RegEnumKeyExW(k, 1, name, &n, NULL, NULL, NULL, NULL) == ERROR_NO_MORE_ITEMS);
        n = 1;
        CHECK(RegEnumKeyExW(k, 0, name, &n, NULL, NULL, NULL, NULL) == ERROR_MORE_DATA);
        CHECK(RegEnumKeyExW(k, 0, NULL, &n, NULL, NULL, NULL, NULL) == ERROR_INVALID_PARAMETER);
        n = 300;
        size = sizeof back;
        CHECK(RegEnumValueW(k, 1, name, &n, NULL, &type, back, &size) == ERROR_SUCCESS &&
              n == 2 && memcmp(name, L"Dw", 6) == 0 && type == REG_DWORD && size == 4);
        n = 300;
        size = 1;
        CHECK(RegEnumValueW(k, 1, name, &n, NULL, &type, back, &size) == ERROR_MORE_DATA && size == 4);
        n = 300;
        CHECK(RegEnumValueW(k, 99, name, &n, NULL, NULL, NULL, NULL) == ERROR_NO_MORE_ITEMS);
        CHECK(RegQueryInfoKeyW(k, NULL, NULL, NULL, &subkeys, &maxname, &maxclass, &values,
                               &maxvname, &maxdata, NULL, NULL) == ERROR_SUCCESS);
        CHECK(subkeys == 1 && maxname == 1 && maxclass == 0 && values == 5 && maxvname == 255 &&
              maxdata == 4096);
        CHECK(RegQueryInfoKeyW(k, cls, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
              ERROR_INVALID_PARAMETER);
        c = 3;
        CHECK(RegQueryInfoKeyW(k, cls, &c, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
              ERROR_MORE_DATA);
        c = 300;
        CHECK(RegQueryInfoKeyW(k, cls, &c, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) ==
              ERROR_SUCCESS && c == 3 && memcmp(cls, L"cls", 8) == 0);
    }

    /* Deletion. */
    CHECK(RegDeleteValueW(k, L"Odd") == ERROR_SUCCESS);
    CHECK(RegDeleteValueW(k, L"Odd") == ERROR_FILE_NOT_FOUND);
    CHECK(RegDeleteKeyW(k, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(RegDeleteKeyW(k, L"") == ERROR_INVALID_PARAMETER);
    CHECK(RegDeleteKeyW(k, L"nothing") == ERROR_FILE_NOT_FOUND);
    CHECK(RegDeleteKeyW(k, L"\\a\\") == ERROR_SUCCESS); /* the whole subtree */
    CHECK(RegOpenKeyExW(k, L"a\\b", 0, 0, &k2) == ERROR_FILE_NOT_FOUND);

    /* Paths longer than one request (the shim stages them): 15 names of 255 below the root,
     * CE's deepest and longest key path; one level more creates nothing; past any key's length. */
    {
        static WCHAR deep[4200], deeper[4200];
        DWORD n = 0, i, j;
        for (i = 0; i < 15; ++i) {
            if (i != 0) deep[n++] = L'\\';
            for (j = 0; j < 255; ++j) deep[n++] = (WCHAR)(L'a' + i);
        }
        deep[n] = 0;
        CHECK(n == 3839);
        CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, deep, 0, L"deep", 0, 0, NULL, &k2, &disp) ==
                  ERROR_SUCCESS && disp == REG_CREATED_NEW_KEY);
        v = 15;
        CHECK(RegSetValueExW(k2, L"Depth", 0, REG_DWORD, (const BYTE*)&v, 4) == ERROR_SUCCESS);
        CHECK(RegCloseKey(k2) == ERROR_SUCCESS);
        CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, deep, 0, NULL, 0, 0, NULL, &k2, &disp) ==
                  ERROR_SUCCESS && disp == REG_OPENED_EXISTING_KEY);
        CHECK(RegCloseKey(k2) == ERROR_SUCCESS);
        v = 0;
        size = 4;
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, deep, 0, 0, &k2) == ERROR_SUCCESS &&
              RegQueryValueExW(k2, L"Depth", NULL, &type, (BYTE*)&v, &size) == ERROR_SUCCESS &&
              v == 15);
        CHECK(RegCloseKey(k2) == ERROR_SUCCESS);
        /* "Long" and the same 15 names below it: 16 below the root, refused, nothing created. */
        memcpy(deeper, L"Long\\", 5 * sizeof(WCHAR));
        memcpy(deeper + 5, deep, (n + 1) * sizeof(WCHAR));
        CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, deeper, 0, NULL, 0, 0, NULL, &k2, &disp) ==
              ERROR_INVALID_PARAMETER);
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Long", 0, 0, &k2) == ERROR_FILE_NOT_FOUND);
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, deeper, 0, 0, &k2) == ERROR_FILE_NOT_FOUND);
        /* Longer than any key path: refused before anything travels. */
        for (i = 0; i < 4100; ++i) deeper[i] = L'z';
        deeper[4100] = 0;
        CHECK(RegCreateKeyExW(HKEY_LOCAL_MACHINE, deeper, 0, NULL, 0, 0, NULL, &k2, &disp) ==
              ERROR_INVALID_PARAMETER);
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, deeper, 0, 0, &k2) == ERROR_INVALID_PARAMETER);
        CHECK(RegDeleteKeyW(HKEY_LOCAL_MACHINE, deeper) == ERROR_INVALID_PARAMETER);
        /* The deepest key deleted by its long path; its parent stays. */
        CHECK(RegDeleteKeyW(HKEY_LOCAL_MACHINE, deep) == ERROR_SUCCESS);
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, deep, 0, 0, &k2) == ERROR_FILE_NOT_FOUND);
        deep[n - 256] = 0;
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, deep, 0, 0, &k2) == ERROR_SUCCESS);
        CHECK(RegCloseKey(k2) == ERROR_SUCCESS);
        deep[255] = 0; /* the first name: the whole tree goes */
        CHECK(RegDeleteKeyW(HKEY_LOCAL_MACHINE, deep) == ERROR_SUCCESS);
        CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, deep, 0, 0, &k2) == ERROR_FILE_NOT_FOUND);
    }

    /* Flushing: hive mode by default. */
    CHECK(RegFlushKey(k) == ERROR_SUCCESS);
    CHECK(RegFlushKey(HKEY_CURRENT_USER) == ERROR_SUCCESS);
    CHECK(RegCloseKey(k) == ERROR_SUCCESS);
    CHECK(RegFlushKey(k) == ERROR_INVALID_HANDLE);

    /* No registry call touched the last error. */
    CHECK(GetLastError() == SENTINEL);
    if (failures != 0) return 1;
    puts("ok");
    return 0;
}
