# course_topic(NN-name [LIBRARIES lib...] [LESSON_LIBRARIES lib...] [SMOKE_ARGS arg...]
#              [TIMEOUT seconds] [MPI])
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
# MPI (topic 09): the tests and the lesson run on MPI ranks through build/course-mpirun.
# Each case is a CTest entry per rank count, "<case> [N ranks]" for N = 1 (".. [1 rank]"), 2, 3, 4
# (PROCESSORS N, so `ctest -j` does not overbook, and label mpi); stub-check uses 2 ranks.
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
  cmake_parse_arguments(T "MPI" "TIMEOUT" "LIBRARIES;LESSON_LIBRARIES;SMOKE_ARGS" ${ARGN})
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
  set(test_main course_test_main)
  if(T_MPI)
    set(test_main course_mpi_test_main)
  endif()
  foreach(kind solution exercise)
    add_executable(${name}-tests-${kind} ${test_sources})
    target_link_libraries(${name}-tests-${kind} PRIVATE ${name}-${kind} ${test_main} course_warnings)
    if(T_MPI)
      set_property(TARGET ${name}-tests-${kind} PROPERTY CROSSCOMPILING_EMULATOR "${CMAKE_BINARY_DIR}/course-mpirun")
    endif()
  endforeach()
  set_property(TARGET ${name}-tests-exercise PROPERTY COURSE_STUB ON)

  # COURSE_HANG_SECONDS: a test case still running this long before its TIMEOUT prints
  # the stack of every thread and stops (tests/common/hang_watchdog.cpp), so a deadlock
  # is reported with where each thread waits instead of a bare "timeout".
  course_hang_seconds(hang ${T_TIMEOUT})
  set(props TIMEOUT ${T_TIMEOUT} ENVIRONMENT COURSE_HANG_SECONDS=${hang})
  if(T_MPI)
    course_mpi_tests(${name} ${T_TIMEOUT} ${hang})
  else()
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
  endif()

  # The smoke test runs the lesson with --quick, then checks its --json and --trace files.
  add_test(NAME ${name}/lesson-smoke
           COMMAND ${CMAKE_COMMAND}
                   -D "LESSON=$<TARGET_FILE:${name}-lesson>" -D "TOPIC=${name}"
                   -D "OUT=${CMAKE_BINARY_DIR}/smoke" -D "ARGS=${T_SMOKE_ARGS}"
                   -D "LAUNCHER=$<$<BOOL:${T_MPI}>:${CMAKE_BINARY_DIR}/course-mpirun>"
                   -P "${PROJECT_SOURCE_DIR}/cmake/SmokeLesson.cmake")
  set_tests_properties(${name}/lesson-smoke PROPERTIES TIMEOUT 300 LABELS lesson-smoke)
endfunction()

# Topic 09's CTest entries: every case on 1, 2, 3 and 4 ranks (an uneven count catches a
# share that loses or repeats a file), through build/course-mpirun, labels solution (or
# exercise, stub-check) and mpi; cmake/MpiTests.cmake writes them after each build.
# `--ranks N` after the case name tells the launcher and the test main how many ranks.
# Under ThreadSanitizer no entry is made: Open MPI's libraries are not instrumented and
# its shared-memory transport synchronises through memory TSan cannot see (every case
# would report races inside libmpi); the course's own threads are checked by 01-08.
function(course_mpi_tests name timeout hang)
  if(COURSE_SANITIZE STREQUAL "thread")
    message(STATUS "${name}: MPI tests are not run under ThreadSanitizer (Open MPI is not instrumented)")
    return()
  endif()
  foreach(entry "solution|solution|1:2:3:4|0" "exercise|exercise|1:2:3:4|0" "exercise|stub-check|2|1")
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 kind)
    list(GET parts 1 label)
    list(GET parts 2 ranks)
    list(GET parts 3 will_fail)
    string(REPLACE ":" ";" ranks "${ranks}")
    set(target ${name}-tests-${kind})
    set(out "${CMAKE_CURRENT_BINARY_DIR}/${name}-${label}-mpi-tests.cmake")
    string(REPLACE ";" "," ranks_arg "${ranks}")
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND "${CMAKE_COMMAND}" -D "EXE=$<TARGET_FILE:${target}>" -D "LAUNCHER=${CMAKE_BINARY_DIR}/course-mpirun"
              -D "PREFIX=${name}/${label}/" -D "LABEL=${label}" -D "RANKS=${ranks_arg}" -D "TIMEOUT=${timeout}"
              -D "HANG=${hang}" -D "WILL_FAIL=${will_fail}" -D "CATCH_MAJOR=${Catch2_VERSION_MAJOR}" -D "OUT=${out}"
              -P "${PROJECT_SOURCE_DIR}/cmake/MpiTests.cmake"
      VERBATIM)
    # CTest reads the list only once the program is built (as catch_discover_tests does).
    file(WRITE "${out}.include" "if(EXISTS \"${out}\")\n  include(\"${out}\")\nelse()\n"
         "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${out}.include")
  endforeach()
endfunction()
