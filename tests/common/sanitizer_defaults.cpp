// Defaults for the sanitizer builds of every test program (presets asan and tsan).
// Compiled into each test program through course_test_main; empty otherwise.

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer false positive: an exception that crossed a std::future is freed by
// whichever thread drops the last reference to it, and that reference count lives in
// libstdc++.so, which is not instrumented, so TSan cannot see the ordering between the
// catch block and the free. Only that free is suppressed; every other report stands.
extern "C" const char* __tsan_default_suppressions() {
    return "race:std::__future_base::_Result_base::_Deleter::operator()\n";
}
#endif
