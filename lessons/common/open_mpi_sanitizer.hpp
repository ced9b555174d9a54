// For programs that run on MPI ranks (topic 09's lesson and tests): include it in ONE
// source file of the program. Under AddressSanitizer:
//   - Open MPI keeps some of what MPI_Init allocates until the process ends (its component
//     registry, hwloc's topology), which LeakSanitizer reports at exit: suppressed for Open
//     MPI's own libraries only; leaks of the course's code are still reported;
//   - Open MPI is built without frame pointers, so the fast unwinder stops at its first
//     frame and the report could not name the library: leaks are unwound the slow way.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libmpi.so\nleak:libopen-pal.so\nleak:libopen-rte.so\nleak:libhwloc.so\n"
           "leak:libpmix.so\nleak:libevent\nleak:libprrte.so\nleak:mca_\n";
}
#endif
