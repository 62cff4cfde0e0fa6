/* Example: the first process of the demo. Creates a named RAM-backed mapping, writes a
 * message into it and waits (bounded) until another process answers through the same pages.
 * Plain CE code: builds unchanged with -fshort-wchar against CEKernel's <windows.h>. */
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
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096,
                                    TEXT("DemoSharedMap"));
    if (map == NULL) {
        fprintf(stderr, "writer: CreateFileMappingW failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    struct Shared* shared = (struct Shared*)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (shared == NULL) {
        fprintf(stderr, "writer: MapViewOfFile failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    snprintf(shared->message, sizeof shared->message, "hello from pid %d", (int)getpid());
    printf("writer: mapping handle %p, view at %p, wrote \"%s\"\n", map, (void*)shared,
           shared->message);
    fflush(stdout);
    for (int i = 0; i < 3000 && !shared->answered; ++i) usleep(10000); /* up to 30 s */
    if (!shared->answered) {
        fprintf(stderr, "writer: nobody answered\n");
        return 1;
    }
    printf("writer: got answer \"%s\"\n", shared->answer);
    UnmapViewOfFile(shared);
    CloseHandle(map);
    return 0;
}
