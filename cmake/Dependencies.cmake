# Every dependency comes from the distribution's packages (./course installs them);
# nothing is downloaded at configure time.

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

find_package(Threads REQUIRED)
# Boost through its own CMake package (BoostConfig.cmake, shipped since 1.70; Debian 12's
# 1.81 and Debian 13's 1.83 have it): CMake >= 3.30 removed the FindBoost module (CMP0167).
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS program_options thread fiber context)
find_package(CURL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
# libcrypto's EVP digests: SHA-256 for the dataset manifests, SHA-1 for topic 07.
find_package(OpenSSL REQUIRED)

# Catch2: Debian 12 ships 2.13, newer distributions 3.x. Both provide
# Catch2::Catch2WithMain (the main compiled once) and catch_discover_tests();
# tests include tests/common/course_catch.hpp, which picks the right header.
find_package(Catch2 REQUIRED)
include(Catch)

# Optional: the parallel algorithms of libstdc++ (std::execution::par) need TBB.
find_package(TBB QUIET)
if(TBB_FOUND)
  message(STATUS "TBB found: std::execution::par runs in parallel")
else()
  message(STATUS "TBB not found: lessons skip std::execution::par with a note")
endif()

# Optional: simdjson, for the lesson section that moves the parsing bottleneck (08).
# course_simdjson is empty where simdjson is missing; code checks COURSE_HAVE_SIMDJSON.
find_package(simdjson QUIET)
add_library(course_simdjson INTERFACE)
if(simdjson_FOUND)
  target_link_libraries(course_simdjson INTERFACE simdjson::simdjson)
  target_compile_definitions(course_simdjson INTERFACE COURSE_HAVE_SIMDJSON=1)
endif()

# Optional: libdeflate, a faster inflate for whole gzip files in memory: one more row of
# lesson 08's decompression table. course_libdeflate is empty where it is missing; code
# checks COURSE_HAVE_LIBDEFLATE.
add_library(course_libdeflate INTERFACE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBDEFLATE QUIET IMPORTED_TARGET libdeflate)
endif()
if(LIBDEFLATE_FOUND)
  target_link_libraries(course_libdeflate INTERFACE PkgConfig::LIBDEFLATE)
  target_compile_definitions(course_libdeflate INTERFACE COURSE_HAVE_LIBDEFLATE=1)
endif()

# MPI for topic 09 (Open MPI from the distribution, through Boost.MPI). Optional: where
# MPI or Boost.MPI is missing, topic 09 is skipped with one message and the rest builds.
find_package(MPI QUIET COMPONENTS CXX)
set(COURSE_HAVE_MPI OFF)
if(MPI_CXX_FOUND AND MPIEXEC_EXECUTABLE)
  find_package(Boost 1.81 CONFIG QUIET COMPONENTS mpi serialization)
  if(TARGET Boost::mpi AND TARGET Boost::serialization)
    set(COURSE_HAVE_MPI ON)
  endif()
endif()
if(COURSE_HAVE_MPI)
  # What the launcher puts on mpiexec's command line (never only in the environment: CI
  # graders may strip it). Open MPI 4 and 5 name the shared-memory single-copy switch
  # differently; without ptrace rights (containers) CMA fails with "Read -1 ... errno = 1".
  execute_process(COMMAND "${MPIEXEC_EXECUTABLE}" --version OUTPUT_VARIABLE mpiexec_version ERROR_QUIET)
  set(COURSE_MPI_FLAGS "")
  if(mpiexec_version MATCHES "\\((Open MPI|OpenRTE)\\) ([0-9]+)\\.")   # 4: "(OpenRTE) 4.1.4"; 5: "(Open MPI) 5.0.7"
    set(COURSE_MPI_FLAVOUR "Open MPI ${CMAKE_MATCH_2}")
    set(COURSE_MPI_FLAGS "--map-by :OVERSUBSCRIBE --bind-to none")
    if(CMAKE_MATCH_2 GREATER_EQUAL 5)
      string(APPEND COURSE_MPI_FLAGS " --mca smsc ^cma")
    else()
      string(APPEND COURSE_MPI_FLAGS " --mca btl_vader_single_copy_mechanism none")
    endif()
  else()
    set(COURSE_MPI_FLAVOUR "an MPI that is not Open MPI")
  endif()
  message(STATUS "MPI found (${COURSE_MPI_FLAVOUR}, ${MPIEXEC_EXECUTABLE}): topic 09 runs on MPI ranks")
else()
  message(STATUS "MPI or Boost.MPI not found: topic 09 (beyond one machine) is skipped. "
                 "Install openmpi-bin libopenmpi-dev and Boost.MPI (./course installs them) to build it.")
endif()

# Warnings for the course's own code (applied per target, not to dependencies).
add_library(course_warnings INTERFACE)
# Designated initializers that leave members at their defaults are idiomatic here.
# Targets built from an exercise stub (property COURSE_STUB, set by course_topic) also get
# -Wno-unused-parameter, after -Wall -Wextra: clang honours only the last of the two.
target_compile_options(course_warnings INTERFACE -Wall -Wextra -Wno-missing-field-initializers
  $<$<BOOL:$<TARGET_PROPERTY:COURSE_STUB>>:-Wno-unused-parameter>)

# Sanitizer builds (presets asan and tsan) apply to every target of the course.
if(COURSE_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(COURSE_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT COURSE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "COURSE_SANITIZE must be empty, 'address' or 'thread', not '${COURSE_SANITIZE}'")
endif()
