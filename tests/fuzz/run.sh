#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/fuzz/run.sh TARGET CORPUS [RUNS [MAX_LEN]]: the short, seeded run of one
# libFuzzer target that CI does: every file of CORPUS once, then RUNS mutations
# (default 20000, inputs up to MAX_LEN bytes, default 4096) from seed 1. New inputs go to a scratch directory, never into the
# source tree. A long local run: tests/fuzz/README.md.
set -eu
target=$1 corpus=$2 runs=${3:-20000} max_len=${4:-4096}
scratch=${TMPDIR:-/tmp}/zdk-fuzz-$(basename "$target").$$
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
"$target" -seed=1 -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 "$scratch" "$corpus"
