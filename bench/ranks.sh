#!/bin/sh
# Rank scaling on this machine (make bench-ranks, and the end of make bench): bench/ranks.c
# under mpirun as 1 rank x 1 thread, 1 x 2 and 2 x 1, in ROUNDS interleaved rounds (so a drift
# in the machine's speed touches every configuration alike), each run REPS times after a
# warm-up; prints each configuration's median trials per second, its speed-up over 1 x 1, and
# the collective steps' cost per round: the exchange as the simulation sees it (waiting for the
# slowest rank included) and the same exchange alone. Judges nothing: exit 0 unless a run failed.
# Usage: bench/ranks.sh RANKS_BINARY SCENARIO [TRIALS [ROUNDS [REPS]]]
set -eu
bin=$1
scenario=$2
trials=${3:-2000000}
rounds=${4:-3}
reps=${5:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # CI runs as root
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_base_warn_component_unused=0
out=$(mktemp /tmp/accrue-ranks-XXXXXX)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
  for config in "1 1" "1 2" "2 1"; do
    set -- $config
    mpirun --oversubscribe --bind-to none -n "$1" "$bin" "$scenario" "$trials" "$2" "$reps" >> "$out"
  done
done
echo "Rank scaling on $scenario, $trials trials a run ($(nproc) cores, load average" \
     "$(cut -d' ' -f1 /proc/loadavg) at the end; medians of $rounds interleaved rounds of $reps runs)"
awk -v rounds="$rounds" '
function med(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
  k = $2 " x " $4; n[k]++
  for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
  tps[k, n[k]] = v["trials_per_s"]; ex[k, n[k]] = v["exchange_ms_per_round"]
  ga[k, n[k]] = v["gather_ms"]; by[k] = v["bytes_per_round"]; ro[k] = v["rounds"]
  co[k, n[k]] = v["combine_us_per_block"]
}
END {
  printf "%-16s %10s %9s %7s %15s %12s %15s %15s\n", "ranks x threads", "trials/s", "vs 1 x 1", "rounds", "exchange/round", "bytes/round", "exchange alone", "adding a block"
  split("1 x 1,1 x 2,2 x 1", order, ",")
  for (o = 1; o <= 3; o++) {
    k = order[o]
    for (i = 1; i <= n[k]; i++) { a[i] = tps[k, i]; b[i] = ex[k, i]; c[i] = ga[k, i]; d[i] = co[k, i] }
    t = med(a, n[k]); e = med(b, n[k]); g = med(c, n[k]); u = med(d, n[k])
    if (o == 1) base = t
    printf "%-16s %10.4g %8.2fx %7d %12.3f ms %12d %12.3f ms %12.3f us\n", k, t, t / base, ro[k], e, by[k], g, u
  }
}' "$out"
