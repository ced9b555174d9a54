#!/bin/sh
# Topic 09 on two hosts for real: a cluster of two network namespaces of its own (not
# the student's `./course cluster`), the year histogram on 2 ranks, one per host, then
# the cluster removed again, whatever happened (also on failure or a signal).
#
#   check_multihost.sh CLUSTER_TOOL LAUNCHER PROBE CORPUS_DIR WORK_DIR
#
# CLUSTER_TOOL is cmake/course-cluster, LAUNCHER build/course-mpirun, PROBE the
# mpi_netns_probe program (it checks the histogram and that the ranks' network
# namespaces differ). Not root, or no right to make namespaces: exit 77, which CTest
# reports as skipped (SKIP_RETURN_CODE), with the reason printed.
set -u
cluster_tool=$1 launcher=$2 probe=$3 corpus=$4 work=$5

skip() {
  echo "skipped: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] ||
  skip "this test makes network namespaces and a bridge, which needs root (run ctest as root to include it)"
for tool in ip unshare timeout python3; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (iproute2, util-linux, coreutils, python3)"
done
unshare --net true 2>/dev/null ||
  skip "root here may not make network namespaces (a container without CAP_SYS_ADMIN?)"

# A name of its own per build folder: a student's cluster, or the test of another build
# folder running at the same time, is never touched. Its range is the first free 10.77.X.
name=c09$(printf '%s' "$work" | cksum | awk '{ printf "%05d", $1 % 100000 }')
dir=$work/multihost-$name
cluster() { timeout -k 5 30 python3 "$cluster_tool" "$@" --name "$name"; }

status=1
run=
finish() {
  trap - EXIT INT TERM HUP
  [ -n "$run" ] && kill "$run" 2>/dev/null   # timeout passes the signal on to mpirun
  cluster down --dir "$dir" || status=1
  left=$( (ip netns list; ip -br link show) 2>/dev/null | grep -E "^$name-" | awk '{ print $1 }' | tr '\n' ' ')
  if [ -n "$left" ]; then
    echo "FAILED: left behind after down: $left"
    status=1
  fi
  if ps -eo args | grep -F "$probe" | grep -v -e grep -e check_multihost >/dev/null; then
    echo "FAILED: a probe process is still running after down"
    status=1
  fi
  exit $status
}
trap finish EXIT
trap 'echo "stopped by a signal"; status=1; finish' INT TERM HUP

cluster down --dir "$dir" >/dev/null   # what a killed earlier run left
cluster up 2 --dir "$dir" || { echo "FAILED: could not make the cluster"; exit 1; }
here=$(readlink /proc/self/ns/net)
echo "the machine's own network namespace: $here"
# In the background, then `wait`: a signal to this script is handled at once, not after
# the run (sh runs a trap only once its foreground command has ended).
timeout -k 5 90 "$launcher" -n 2 --hosts "$dir/hostfile" "$probe" "$corpus" --not-netns "$here" &
run=$!
wait "$run"
status=$?
run=
[ $status -eq 124 ] && echo "FAILED: the run did not finish in 90 s"
exit $status
