# Topic 09's CTest entries, written after each build of an MPI test program (the way
# catch_discover_tests does it, but with two labels per entry, which its PROPERTIES
# cannot carry): every Catch2 case once per rank count, run through build/course-mpirun.
#
#   cmake -D EXE=path -D LAUNCHER=path -D PREFIX=09-x/solution/ -D LABEL=solution
#         -D RANKS=1,2,3,4 -D TIMEOUT=90 -D HANG=75 [-D WILL_FAIL=1] -D CATCH_MAJOR=2 -D OUT=file
#         -P MpiTests.cmake
# Catch2 2 and 3 list test names differently (CATCH_MAJOR comes from the configure step).
if(CATCH_MAJOR LESS 3)
  execute_process(COMMAND "${EXE}" --list-test-names-only OUTPUT_VARIABLE listing)
else()
  execute_process(COMMAND "${EXE}" --list-tests --verbosity quiet OUTPUT_VARIABLE listing)
endif()
# Open MPI hands each rank a pseudo-terminal: without the colour flag Catch2 would print
# colour codes into the test log. Catch2 2 passes a spec that matches no case unless told
# (--warn NoTests); Catch2 3 fails it by itself.
if(CATCH_MAJOR LESS 3)
  set(flags "--warn NoTests --use-colour no")
else()
  set(flags "--colour-mode none")
endif()
string(REPLACE "," ";" RANKS "${RANKS}")   # passed as 1,2,3,4
string(REPLACE "\n" ";" names "${listing}")
set(script "")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  if(name STREQUAL "")
    continue()
  endif()
  # Catch2 reads a comma in a test spec as "or", brackets as tags: escape them.
  string(REPLACE "," "\\," spec "${name}")
  string(REPLACE "[" "\\[" spec "${spec}")
  string(REPLACE "]" "\\]" spec "${spec}")
  foreach(ranks IN LISTS RANKS)
    set(unit ranks)
    if(ranks EQUAL 1)
      set(unit rank)
    endif()
    set(test "${PREFIX}${name} [${ranks} ${unit}]")
    string(APPEND script "add_test([==[${test}]==] \"${LAUNCHER}\" \"${EXE}\" [==[${spec}]==] ${flags} --ranks ${ranks})\n")
    string(APPEND script "set_tests_properties([==[${test}]==] PROPERTIES TIMEOUT ${TIMEOUT} PROCESSORS ${ranks}"
                         " LABELS \"${LABEL};mpi\" ENVIRONMENT COURSE_HANG_SECONDS=${HANG}")
    if(WILL_FAIL)
      string(APPEND script " WILL_FAIL TRUE")
    endif()
    string(APPEND script ")\n")
  endforeach()
endforeach()
file(WRITE "${OUT}" "${script}")
