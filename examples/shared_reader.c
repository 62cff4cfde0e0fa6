/* Example: the second process of the demo. Opens the writer's mapping with CE's open-by-create
 * idiom (size 0, then ERROR_ALREADY_EXISTS), reads the message at the same address the writer
 * sees, and answers. */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct Shared {
    volatile LONG answered;
    char message[120];
    char answer[120];
};

int main(void) {
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0,
                                    TEXT("DemoSharedMap"));
    if (map == NULL || GetLastError() != ERROR_ALREADY_EXISTS) {
        fprintf(stderr, "reader: the writer's mapping is not there (error %u)\n",
                (unsigned)GetLastError());
        return 1;
    }
    struct Shared* shared = (struct Shared*)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (shared == NULL) {
        fprintf(stderr, "reader: MapViewOfFile failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    printf("reader: same handle %p, view at %p, read \"%s\"\n", map, (void*)shared,
           shared->message);
    snprintf(shared->answer, sizeof shared->answer, "hello back from pid %d", (int)getpid());
    __sync_synchronize();
    shared->answered = 1;
    UnmapViewOfFile(shared);
    CloseHandle(map);
    return 0;
}
