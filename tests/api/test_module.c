/* A host shared object for the LoadLibraryW tests. */
__attribute__((visibility("default"))) int cek_test_twice(int x) { return 2 * x; }
