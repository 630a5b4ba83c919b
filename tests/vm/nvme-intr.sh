#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nvme-intr.sh BUILD_DIR: issue 14 on QEMU's NVMe controller, through the
# real VFIO and MSI-X.
#  1. Interrupt mode, paced: nvme-perf --interrupt --rate 1000 keeps the rate
#     with verified data, sleeps, and its MSI-X vectors really fire (the
#     kernel's /proc/interrupts lines for vfio-msix of the controller grow
#     while it runs); it uses far less CPU than the same run polling.
#  2. Interrupt mode at full speed (-q 32, randrw --verify): no error, no
#     mismatch.
#  3. Two lcores (-l 0,1), a qpair each, polling and in interrupt mode: both
#     lcores do I/O, the data verifies.
# The CPU figures are printed; the bound asserted is loose (TCG, a shared
# host): buildtools/bench-nvme gives the real numbers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$ZDK_BUILD" ] || fail "usage: $0 BUILD_DIR"
PERF=$ZDK_BUILD/examples/nvme-perf/zdk-nvme-perf
[ -x "$PERF" ] || fail "$PERF is not built"
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller (1b36:0010) in this guest"
vfio_bind "$NVME_BDF"
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

# Interrupts delivered so far to the MSI-X vectors VFIO holds for BDF (the
# lines exist while a process has the vectors enabled).
msix_count() {
	awk -v pat="vfio-msix\\[[0-9]+\\]\\($1\\)" 'NR == 1 { n = NF }
		$0 ~ pat { for (i = 2; i <= n + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts
}

# jq-less JSON: python3 is in the guest (the benches use it too).
jget() { # FILE EXPR: evaluate EXPR on the JSON in FILE as j
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

perf() { # NAME ARGS...: nvme-perf with the JSON summary in $LOG/NAME.json
	local name=$1
	shift
	"$PERF" -a "$NVME_BDF" --log-level err "$@" --json >"$LOG/$name.json" 2>"$LOG/$name.err" || {
		cat "$LOG/$name.err" "$LOG/$name.json"
		fail "$name: nvme-perf failed"
	}
}

# 1. 1k IOPS, polling then interrupt; the vectors are sampled mid-run.
perf poll1k -l 0 -- -n 1 -q 4 -o 4096 -w randrw -M 70 -t 6 --verify --rate 1000
"$PERF" -l 0 -a "$NVME_BDF" --log-level err -- -n 1 -q 4 -o 4096 -w randrw -M 70 -t 6 --verify \
	--rate 1000 --interrupt --json >"$LOG/intr1k.json" 2>"$LOG/intr1k.err" &
pid=$!
sleep 2
irq0=$(msix_count "$NVME_BDF")
sleep 2
irq1=$(msix_count "$NVME_BDF")
wait $pid || { cat "$LOG/intr1k.err" "$LOG/intr1k.json"; fail "intr1k: nvme-perf failed"; }
for r in poll1k intr1k; do
	t="j['rows'][-1]"
	echo "$r: $(jget "$LOG/$r.json" "'%.0f IOPS, p50 %.1f us, p99 %.1f us, cpu %.1f%%, %d sleeps, mode %s, %d verified' % ($t['iops'], $t['lat_us']['p50'], $t['lat_us']['p99'], j['cpu_pct'], j['sleeps'], j['mode'], $t['verified'])")"
	[ "$(jget "$LOG/$r.json" "$t['errors'] + $t['mismatches']")" = 0 ] || fail "$r: errors or mismatches"
	[ "$(jget "$LOG/$r.json" "int(900 <= $t['iops'] <= 1100)")" = 1 ] ||
		fail "$r: $(jget "$LOG/$r.json" "$t['iops']") IOPS, asked for 1000"
done
[ "$(jget "$LOG/intr1k.json" "j['mode']")" = interrupt ] || fail "intr1k did not run in interrupt mode"
[ "$(jget "$LOG/intr1k.json" "j['sleeps']")" -gt 100 ] || fail "intr1k: the lcore hardly slept"
[ "$irq1" -gt "$irq0" ] ||
	fail "no MSI-X interrupt of $NVME_BDF reached the kernel in 2 s ($irq0 -> $irq1): $(grep vfio /proc/interrupts || true)"
cpu_p=$(jget "$LOG/poll1k.json" "j['cpu_pct']")
cpu_i=$(jget "$LOG/intr1k.json" "j['cpu_pct']")
awk -v p="$cpu_p" -v i="$cpu_i" 'BEGIN { exit !(p > 70 && i < 50 && i < p / 2) }' ||
	fail "1k IOPS: cpu polling $cpu_p%, interrupt $cpu_i%: interrupt mode should use far less"
ok "1k IOPS verified: polling uses $cpu_p% of a core, interrupt mode $cpu_i% ($((irq1 - irq0)) MSI-X interrupts in 2 s)"

# 2. Interrupt mode flat out.
perf intrfull -l 0 -- -n 1 -q 32 -o 4096 -w randrw -M 50 -t 5 --verify --interrupt
t="j['rows'][-1]"
[ "$(jget "$LOG/intrfull.json" "$t['errors'] + $t['mismatches']")" = 0 ] || fail "intrfull: errors or mismatches"
ok "interrupt mode at QD 32: $(jget "$LOG/intrfull.json" "'%.0f IOPS, %d verified reads, cpu %.1f%%' % ($t['iops'], $t['verified'], j['cpu_pct'])")"

# 3. Two lcores, a qpair each.
for mode in poll intr; do
	extra=()
	[ $mode = intr ] && extra=(--interrupt)
	perf two-$mode -l 0,1 -- -n 1 -q 16 -o 4096 -w randrw -M 70 -t 5 --verify "${extra[@]}"
	f=$LOG/two-$mode.json
	[ "$(jget "$f" "len(j['rows'])")" = 3 ] || fail "two-$mode: want 2 lcore rows and a total: $(cat "$f")"
	[ "$(jget "$f" "int(all(r['ios'] > 1000 for r in j['rows'][:2]))")" = 1 ] ||
		fail "two-$mode: an lcore did (almost) nothing: $(jget "$f" "[r['ios'] for r in j['rows']]")"
	[ "$(jget "$f" "j['rows'][-1]['errors'] + j['rows'][-1]['mismatches']")" = 0 ] ||
		fail "two-$mode: errors or mismatches"
	ok "two lcores ($mode): $(jget "$f" "' + '.join('%.0f' % r['iops'] for r in j['rows'][:2]) + ' = %.0f IOPS, cpu %.0f%%' % (j['rows'][-1]['iops'], j['cpu_pct'])")"
done
