#!/bin/sh
# Writes the scaling table's scenarios (bench/scale/*/) from bench/reference: the reference
# with its work grown one way at a time (see bench/scale/README.md). Run from the repository's
# top folder; the folders it writes are committed, so the bench never depends on running it.
set -eu
ref=bench/reference
out=bench/scale
# The reference's expected referral registrations by the deadline (its exact mean 12.218 less
# 2 enrolled and 2 x 0.75 from screening): rates scale by (N - 3.5) / 8.718 for a mean of N.
referral=8.718

# scenario NAME TARGET SCREENING COPIES FACTOR: the reference's five sites repeated COPIES
# times, every rate times FACTOR, with the given target and candidates in screening.
scenario() {
    dir=$out/$1
    mkdir -p "$dir"
    awk -F, -v OFS=, -v target="$2" -v screening="$3" -v name="$1" '
        NR == 1 { print; next }
        $1 == "name" { $2 = "bench scale " name; print; next }
        $1 == "target" { $2 = target; print; next }
        $1 == "screening" { $2 = screening; print; next }
        { print }' "$ref/trial.csv" > "$dir/trial.csv"
    awk -F, -v copies="$4" -v factor="$5" '
        NR == 1 { print "site,rate,rate_shape,active_from"; next }
        { rate[NR - 1] = $2; shape[NR - 1] = $3; from[NR - 1] = $4; n = NR - 1 }
        END {
            for (c = 1; c <= copies; c++)
                for (i = 1; i <= n; i++)
                    printf "s%d-%d,%.6g,%s,%s\n", c, i, rate[i] * factor, shape[i], from[i]
        }' "$ref/sites.csv" > "$dir/sites.csv"
}

f() { awk -v n="$1" -v r="$referral" -v c="$2" 'BEGIN { printf "%.6g", (n - 3.5) / r / c }'; }

scenario count-100      100   2 1    "$(f 100 1)"
scenario count-300      300   2 6    "$(f 300 6)"
scenario count-1000     1000  2 1    "$(f 1000 1)"
scenario count-10000    10000 2 1    "$(f 10000 1)"
scenario sites-50       12    2 10   0.1
scenario sites-500      12    2 100  0.01
scenario sites-5000     12    2 1000 0.001
scenario screening-32   35    32 1   1
