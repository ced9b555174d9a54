# course_topic(NN-name [LIBRARIES lib...] [LESSON_LIBRARIES lib...] [SMOKE_ARGS arg...]
#              [TIMEOUT seconds])
#
# LIBRARIES link to the topic's solution and exercise (and so to its tests and lesson);
# LESSON_LIBRARIES only to the lesson (e.g. Boost.Fiber for a comparison the API does
# not need). Every target sees COURSE_DATASETS_DIR (from course_common).
#
# Declares one topic from its five folders. For topic 01-functional it makes:
#
#   01-functional-solution        library  solutions/01-functional/*.cpp (or header-only)
#   01-functional-exercise        library  exercises/01-functional/*.cpp (same headers, same API)
#   01-functional-lesson          program  lessons/01-functional/*.cpp, linked to the solution
#   01-functional-lesson-mine     program  the same lesson linked to the exercise (built on demand)
#   01-functional-tests-solution  program  tests/01-functional/*.cpp against the solution
#   01-functional-tests-exercise  program  the same tests against the exercise
#
# and the CTest entries, one per Catch2 test case, each with a TIMEOUT:
#   01-functional/solution/<case>    label solution    must pass
#   01-functional/exercise/<case>    label exercise    what ./course check and grade run
#   01-functional/stub-check/<case>  label stub-check  must FAIL on the shipped stub
#   01-functional/lesson-smoke       label lesson-smoke  the lesson with --quick
#
# Editing one exercise file rebuilds only that exercise's library and test program.
# The hang watchdog fires this many seconds into a test case: 15 s before the TIMEOUT
# (time for gdb to attach and print), at least half the timeout.
function(course_hang_seconds out timeout)
  math(EXPR hang "${timeout} - 15")
  math(EXPR half "${timeout} / 2")
  if(hang LESS half)
    set(hang ${half})
  endif()
  set(${out} ${hang} PARENT_SCOPE)
endfunction()

function(course_topic name)
  cmake_parse_arguments(T "" "TIMEOUT" "LIBRARIES;LESSON_LIBRARIES;SMOKE_ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT ${COURSE_TEST_TIMEOUT})
  endif()
  set(root "${PROJECT_SOURCE_DIR}")
  foreach(dir lessons exercises solutions tests)
    if(NOT IS_DIRECTORY "${root}/${dir}/${name}")
      message(FATAL_ERROR "course_topic(${name}): folder ${dir}/${name} is missing")
    endif()
  endforeach()

  # The two implementations of the topic's API.
  foreach(kind solution exercise)
    set(dir "${root}/${kind}s/${name}")
    file(GLOB sources CONFIGURE_DEPENDS "${dir}/*.cpp")
    set(lib ${name}-${kind})
    if(sources)
      add_library(${lib} STATIC ${sources})
      target_include_directories(${lib} PUBLIC "${dir}")
      target_link_libraries(${lib} PUBLIC course_common ${T_LIBRARIES} PRIVATE course_warnings)
      set(${kind}_scope PUBLIC)
    else()
      add_library(${lib} INTERFACE)
      target_include_directories(${lib} INTERFACE "${dir}")
      target_link_libraries(${lib} INTERFACE course_common ${T_LIBRARIES})
      set(${kind}_scope INTERFACE)
    endif()
  endforeach()
  # A stub names its parameters (they document the task) without using them yet: every
  # target built from the exercise is marked, and course_warnings adds
  # -Wno-unused-parameter after -Wall -Wextra for marked targets (clang honours only the
  # last of the two, so the order matters).

  # The lesson, on the solution (default) and on the student's code (--mine).
  file(GLOB lesson_sources CONFIGURE_DEPENDS "${root}/lessons/${name}/*.cpp")
  add_executable(${name}-lesson ${lesson_sources})
  target_link_libraries(${name}-lesson PRIVATE ${name}-solution ${T_LESSON_LIBRARIES} course_warnings)
  add_executable(${name}-lesson-mine EXCLUDE_FROM_ALL ${lesson_sources})
  target_link_libraries(${name}-lesson-mine PRIVATE ${name}-exercise ${T_LESSON_LIBRARIES} course_warnings)
  set_property(TARGET ${name}-lesson-mine PROPERTY COURSE_STUB ON)
  if(exercise_scope STREQUAL "PUBLIC")
    set_property(TARGET ${name}-exercise PROPERTY COURSE_STUB ON)
  endif()

  # The tests, compiled once against each implementation.
  file(GLOB test_sources CONFIGURE_DEPENDS "${root}/tests/${name}/*.cpp")
  foreach(kind solution exercise)
    add_executable(${name}-tests-${kind} ${test_sources})
    target_link_libraries(${name}-tests-${kind} PRIVATE ${name}-${kind} course_test_main course_warnings)
  endforeach()
  set_property(TARGET ${name}-tests-exercise PROPERTY COURSE_STUB ON)

  # COURSE_HANG_SECONDS: a test case still running this long before its TIMEOUT prints
  # the stack of every thread and stops (tests/common/hang_watchdog.cpp), so a deadlock
  # is reported with where each thread waits instead of a bare "timeout".
  course_hang_seconds(hang ${T_TIMEOUT})
  set(props TIMEOUT ${T_TIMEOUT} ENVIRONMENT COURSE_HANG_SECONDS=${hang})
  catch_discover_tests(${name}-tests-solution
    TEST_PREFIX "${name}/solution/"
    PROPERTIES ${props} LABELS solution)
  catch_discover_tests(${name}-tests-exercise
    TEST_PREFIX "${name}/exercise/"
    PROPERTIES ${props} LABELS exercise)
  # The same cases again, expected to fail on the shipped stub. (catch_discover_tests
  # names its generated file after EXTRA_ARGS, so a harmless extra argument keeps the
  # two discoveries of one program apart.)
  catch_discover_tests(${name}-tests-exercise
    TEST_PREFIX "${name}/stub-check/"
    EXTRA_ARGS --durations no
    PROPERTIES ${props} LABELS stub-check WILL_FAIL TRUE)

  # The smoke test runs the lesson with --quick, then checks its --json and --trace files.
  add_test(NAME ${name}/lesson-smoke
           COMMAND ${CMAKE_COMMAND}
                   -D "LESSON=$<TARGET_FILE:${name}-lesson>" -D "TOPIC=${name}"
                   -D "OUT=${CMAKE_BINARY_DIR}/smoke" -D "ARGS=${T_SMOKE_ARGS}"
                   -P "${PROJECT_SOURCE_DIR}/cmake/SmokeLesson.cmake")
  set_tests_properties(${name}/lesson-smoke PROPERTIES TIMEOUT 300 LABELS lesson-smoke)
endfunction()
