/* Example: CE 5's CreateFileForMapping sequence, shared by two processes.
 *   file_seed first    opens \My Documents\seed.dat through the kernel, maps it with a name,
 *                      writes a greeting and waits (bounded) for the second process's answer,
 *                      then flushes the view to disk;
 *   file_seed second   opens the same mapping by name and answers in the same pages.
 * Build: cc -fshort-wchar file_seed.c $(pkg-config --cflags --libs coredll) */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct Record {
    volatile LONG answered;
    char greeting[64];
    char answer[64];
};

static int first(void) {
    HANDLE file = CreateFileForMappingW(TEXT("\\My Documents\\seed.dat"),
                                        GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                                        FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "first: CreateFileForMappingW failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    /* The mapping takes the file handle over: CE 5 closes it with the mapping. */
    HANDLE map = CreateFileMappingW(file, NULL, PAGE_READWRITE, 0, 4096, TEXT("SeedFileMap"));
    if (map == NULL) {
        fprintf(stderr, "first: CreateFileMappingW failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    struct Record* r = (struct Record*)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
    if (r == NULL) {
        fprintf(stderr, "first: MapViewOfFile failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    snprintf(r->greeting, sizeof r->greeting, "written by pid %d into seed.dat", (int)getpid());
    printf("first: file handle %p taken over by mapping %p, view at %p\n", file, map, (void*)r);
    printf("first: CloseHandle(file) now %s (CE 5: the mapping owns it)\n",
           CloseHandle(file) ? "succeeds" : "fails");
    fflush(stdout);
    for (int i = 0; i < 3000 && !r->answered; ++i) usleep(10000);
    if (!r->answered) {
        fprintf(stderr, "first: nobody answered\n");
        return 1;
    }
    printf("first: answer \"%s\"; flushing the view to disk\n", r->answer);
    FlushViewOfFile(r, 0);
    UnmapViewOfFile(r);
    CloseHandle(map);
    return 0;
}

static int second(void) {
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0,
                                    TEXT("SeedFileMap"));
    if (map == NULL || GetLastError() != ERROR_ALREADY_EXISTS) {
        fprintf(stderr, "second: no SeedFileMap (error %u)\n", (unsigned)GetLastError());
        return 1;
    }
    struct Record* r = (struct Record*)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
    if (r == NULL) return 1;
    printf("second: same mapping %p, view at %p, read \"%s\"\n", map, (void*)r, r->greeting);
    snprintf(r->answer, sizeof r->answer, "answered by pid %d", (int)getpid());
    __sync_synchronize();
    r->answered = 1;
    UnmapViewOfFile(r);
    CloseHandle(map);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 2 && strcmp(argv[1], "first") == 0) return first();
    if (argc == 2 && strcmp(argv[1], "second") == 0) return second();
    fprintf(stderr, "usage: file_seed first|second\n");
    return 2;
}
