#!/bin/sh
# The MPI build against the plain one (README, "On a cluster: MPI"): with mpirun --oversubscribe
# and 1, 2 and 3 ranks (1 thread each), the MPI build must write byte-identical --out files to
# the plain build's (2 threads) and the same report apart from the run's thread count, time and
# folder:
#  - run on every shipped scenario (scenarios/*/), 40,000 trials (10 blocks: a round of 10
#    blocks shared 3/3/4 among 3 ranks, so every rank runs blocks and every exchange happens);
#  - run with --target-se (rounds of 2, 4, 8 ... blocks, the stop decided after each round from
#    the exchanged sums), a sweep on a grid of two keys, a solve, track, report and compare on
#    two scenarios each, and exact (no simulation: every rank computes, rank 0 writes);
#  - a bad scenario (rank 0 refuses it) and a bad --out end every rank with status 2;
#  - an interrupted job leaves nothing: SIGINT to mpirun (Open MPI then sends SIGTERM to every
#    rank, each stops at its next batch and ends with 143, no output; mpirun itself reports 1),
#    and SIGTERM or SIGINT to every rank, as a batch system does on a time limit (mpirun then
#    ends with the ranks' status, 143 or 130).
# Usage: tests/mpi/check.sh PLAIN_ACCRUE MPI_ACCRUE. Exit 0 when all holds, 1 otherwise.
set -u
plain=$1
mpi=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # CI runs as root
# Shared memory only (the test runs on one machine), no warnings about unused networks.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_base_warn_component_unused=0
dir=$(mktemp -d /tmp/accrue-mpi-XXXXXX)
trap 'rm -rf "$dir"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

mpirun_n() {
  n=$1
  shift
  mpirun --oversubscribe -n "$n" "$mpi" "$@"
}

# The report without the lines that name the run's threads, time or output folder.
report_of() {
  grep -v -e '^Run  ' -e 'written to ' "$1" || [ $? = 1 ]   # 1: no line left, which is fine
}

# same NAME ARGS...: the plain build with 2 threads, then 1, 2 and 3 ranks of 1 thread.
same() {
  name=$1
  shift
  before=$failures
  # Standard output and error apart: mpirun forwards the two streams separately, so their
  # interleaving in one file would depend on timing.
  "$plain" "$@" --threads 2 --quiet --out "$dir/$name.plain" > "$dir/$name.plain.txt" \
    2> "$dir/$name.plain.err"
  rc=$?
  [ $rc = 0 ] || fail "$name: plain build exit $rc"
  for n in 1 2 3; do
    checks=$((checks + 1))
    mpirun_n "$n" "$@" --threads 1 --quiet --out "$dir/$name.$n" > "$dir/$name.$n.txt" \
      2> "$dir/$name.$n.err"
    rc=$?
    if [ $rc != 0 ]; then
      fail "$name: mpirun -n $n exit $rc"; sed 's/^/    /' "$dir/$name.$n.err" | head -20
    elif ! diff -r "$dir/$name.plain" "$dir/$name.$n" > "$dir/diff" 2>&1; then
      fail "$name: mpirun -n $n wrote other files"; head -20 "$dir/diff"
    elif ! report_of "$dir/$name.plain.txt" > "$dir/a.rep" ||
         ! report_of "$dir/$name.$n.txt" > "$dir/b.rep" ||
         ! diff "$dir/a.rep" "$dir/b.rep" > "$dir/diff" 2>&1; then
      fail "$name: mpirun -n $n printed another report"; head -20 "$dir/diff"
    elif ! diff "$dir/$name.plain.err" "$dir/$name.$n.err" > "$dir/diff" 2>&1; then
      fail "$name: mpirun -n $n said something else on standard error"; head -20 "$dir/diff"
    fi
  done
  [ $failures = $before ] &&
    echo "ok $name: files byte-identical for 1, 2 and 3 ranks ($(find "$dir/$name.plain" -type f | wc -l) files)"
}

for s in scenarios/*/; do
  s=${s%/}
  same "run-$(basename "$s")" run "$s" --trials 40000
done
same target-se run scenarios/protocol-plan --target-se 2e-3
same sweep sweep scenarios/self-pay --vary selfpay_consent=0.3,0.5,0.7 \
  --vary rate_factor=0.8,1.2 --trials 20000
same solve solve scenarios/protocol-plan --for rate_factor --p 0.8 --trials 20000
same track track scenarios/seed-history-tracked --trials 20000
same report report scenarios/self-pay scenarios/seed-actions --trials 20000
same compare compare scenarios/self-pay scenarios/recent-pace --trials 20000
same exact exact scenarios/self-pay

# Errors seen by rank 0 end every rank with status 2.
before=$failures
checks=$((checks + 1))
mpirun_n 2 run tests/bad-input/actions-below-text --trials 1000 > "$dir/bad.txt" 2>&1
rc=$?
[ $rc = 2 ] || fail "bad scenario: mpirun -n 2 exit $rc, expected 2"
grep -q 'actions.csv' "$dir/bad.txt" || fail "bad scenario: no message naming the file"
checks=$((checks + 1))
: > "$dir/a-file"
mpirun_n 2 run scenarios/self-pay --trials 1000 --out "$dir/a-file" > "$dir/badout.txt" 2>&1
rc=$?
[ $rc = 2 ] || fail "bad --out: mpirun -n 2 exit $rc, expected 2"
[ $failures = $before ] &&
  echo "ok errors: a bad scenario and a bad --out end the job with status 2"

# interrupted HOW SIGNAL EXPECTED: a long run into $dir/int, stopped after 2 s.
interrupted() {
  how=$1
  sig=$2
  want=$3
  checks=$((checks + 1))
  rm -rf "$dir/int"
  mpirun --oversubscribe -n 2 "$mpi" run scenarios/protocol-plan --trials 1e11 --threads 1 \
    --quiet --out "$dir/int" > "$dir/int.txt" 2>&1 &
  pid=$!
  sleep 2
  if [ "$how" = mpirun ]; then
    kill -"$sig" $pid
  else
    # mpirun's children, the ranks (from /proc: no procps needed).
    kill -"$sig" $(awk -v p=$pid '$4 == p { print $1 }' /proc/[0-9]*/stat 2> /dev/null) 2> /dev/null
  fi
  wait $pid
  rc=$?
  left=$(ls -A "$dir" | grep -c -e '^int$' -e '^\.accrue-')
  if [ "$rc" != "$want" ]; then
    fail "SIG$sig to $how: exit $rc, expected $want"; sed 's/^/    /' "$dir/int.txt" | head
  elif [ "$left" != 0 ]; then
    fail "SIG$sig to $how: left $(ls -A "$dir" | grep -e '^int$' -e '^\.accrue-')"
  else
    echo "ok SIG$sig to $how: exit $rc, nothing written"
  fi
}
interrupted mpirun INT 1
interrupted mpirun TERM 1
interrupted ranks TERM 143
interrupted ranks INT 130

echo "mpi: $((checks - failures)) of $checks checks passed"
[ $failures = 0 ]
