#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nonroot-handed.sh BUILD_DIR: issue 11 section 3, way b (doc/nonroot.md),
# under iommufd. Nothing is granted: /dev/iommu, the VFIO nodes and the
# hugetlbfs mount stay root's, and uid 1000 cannot open them. zdk-launch, as
# root, opens them, drops to uid 1000 with no capability in any set, and
# runs nvme-perf --verify, then l2fwd and pktgen side by side, on the
# descriptors it hands over. It asks iommufd to charge pins to each process
# (IOMMU_OPTION_RLIMIT_MODE), so one arena's worth of RLIMIT_MEMLOCK is
# enough for each of two processes of the same user, which the user's own
# /dev/iommu could not give (nonroot-granted.sh shows that). Also:
# zdk-doctor --user finds this way ready and granted access not; the same
# descriptors given by hand (bash redirections, then setpriv) work too; and
# a wrong descriptor is refused naming what it is and what was wanted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nonroot-lib.sh"

ARENA_KIB=131072 # -m 128: 32768 pages of 4 KiB
[ -e /dev/iommu ] || skip "no /dev/iommu in this guest: zdk-launch hands over iommufd descriptors"
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller in this guest"
read -r PG0 FW0 FW1 PG1 _ <<<"$IGB_BDFS" || true
[ -n "${PG1:-}" ] || skip "need 4 igb ports, found: $IGB_BDFS"
DEVS=("$NVME_BDF" "$PG0" "$FW0" "$FW1" "$PG1")
for b in "${DEVS[@]}"; do vfio_bind "$b"; done
TMP=$(mktemp -d)
L2PID=
trap '[ -z "$L2PID" ] || kill -INT $L2PID 2>/dev/null; rm -rf "$TMP" /dev/hugepages/nonroot-by-hand' EXIT

# 0. The user has no way in by itself.
cdev=$(vfio_cdev "$NVME_BDF") || fail "$NVME_BDF has no VFIO cdev"
for node in /dev/iommu "$cdev" /dev/hugepages; do
	[ "$(stat -c %u "$node")" = 0 ] || fail "$node is not root's: $(stat -c %U "$node")"
done
(as_user 8192 sh -c 'exec 3<>/dev/iommu') 2>/dev/null && fail "uid $NR_UID opened /dev/iommu itself"
out=$("$DOCTOR" --user="$NR_UID" -a "$NVME_BDF") || true
expect "$out" "[ OK ] user $NR_NAME can run zdk without root by handed-over descriptors (zdk-launch)"
expect "$out" "[WARN] user $NR_NAME cannot run zdk by granted access yet"
expect "$out" "zdk-launch --user=$NR_NAME -a $NVME_BDF -m 128 -- PROGRAM"
ok "uid $NR_UID cannot open /dev/iommu; zdk-doctor --user=$NR_UID: zdk-launch ready, granted access not"

# 1. nvme-perf --verify through zdk-launch.
perf_run out "$LAUNCH" --user="$NR_UID" -a "$NVME_BDF" -m 128 --verbose -- \
	"$PERF" -l 0 -- -q 16 -o 4096 -w randrw -M 70 -t 3 --verify
expect "$out" "zdk-launch: $NR_NAME (uid $NR_UID, gid $NR_UID), no capabilities, RLIMIT_MEMLOCK $ARENA_KIB KiB (pins charged per process): $PERF --iommufd-fd="
expect "$out" " --vfio-fd=$NVME_BDF="
expect "$out" "IOMMU backend: iommufd (its descriptors were handed over (--iommufd-fd, --vfio-fd))"
ok "nvme-perf --verify through zdk-launch as uid $NR_UID, no capability: $(perf_ok "$out") reads verified"

# 2. l2fwd and pktgen, each launched with one arena's worth of RLIMIT_MEMLOCK.
l2fwd_start "$TMP/l2fwd" "$LAUNCH" --user="$NR_UID" -a "$FW0" -a "$FW1" -m 128 -- \
	"$L2FWD" -l 0 -- "${L2FWD_ARGS[@]}"
no_caps "$L2PID"
grep -q "^Max locked memory *$((ARENA_KIB * 1024)) *$((ARENA_KIB * 1024)) *bytes" "/proc/$L2PID/limits" ||
	fail "l2fwd's limit: $(grep 'Max locked' "/proc/$L2PID/limits")"
out=$("$LAUNCH" --user="$NR_UID" -a "$PG0" -a "$PG1" -m 128 -- "$PKTGEN" -l 0 -- "${PKTGEN_ARGS[@]}" 2>&1) || true
echo "$out" | tail -3
l2fwd_check "$TMP/l2fwd" "$out" "$NR_COUNT"
L2PID=
ok "$NR_COUNT frames pktgen -> l2fwd, both through zdk-launch as uid $NR_UID, $ARENA_KIB KiB of RLIMIT_MEMLOCK each"

# 3. By hand: bash opens as root, setpriv drops; the user's own accounting
#    (no launcher to ask for the process's), one arena's worth.
rm -f /dev/hugepages/nonroot-by-hand
perf_run out as_user $ARENA_KIB "$PERF" -l 0 -m 128 --iommufd-fd=3 --vfio-fd="$NVME_BDF=4" \
	--huge-fd=5 -- -q 8 -o 4096 -w randrw -M 50 -t 2 --verify \
	3<>/dev/iommu 4<>"$cdev" 5<>/dev/hugepages/nonroot-by-hand
[ "$(stat -c %s /dev/hugepages/nonroot-by-hand)" = $((128 << 20)) ] || fail "zdk did not grow the handed hugetlbfs file to -m 128"
ok "by hand (3<>/dev/iommu 4<>$cdev 5<>hugetlbfs file, setpriv): $(perf_ok "$out") reads verified"

# 4. A wrong descriptor: refused, naming it, and what was wanted.
rc=0
out=$(as_user $ARENA_KIB "$PERF" -l 0 --iommufd-fd=3 --vfio-fd="$NVME_BDF=4" -- -q 1 -t 1 \
	3<>/dev/iommu 4<>/dev/null 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "a /dev/null handed as $NVME_BDF's cdev was taken"
expect "$out" "--vfio-fd $NVME_BDF=4 is character device 1:3, not $NVME_BDF's $cdev (character device "
rc=0
out=$(as_user $ARENA_KIB "$PERF" -l 0 --iommufd-fd=3 -- -q 1 -t 1 3</dev/iommu 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "a read-only /dev/iommu was taken"
expect "$out" "--iommufd-fd 3 is open read-only: zdk needs it open read-write (O_RDWR)"
rc=0
out=$(as_user $ARENA_KIB "$PERF" -l 0 --iommufd-fd=7 -- -q 1 -t 1 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "a descriptor that is not open was taken"
expect "$out" "--iommufd-fd 7: no such open descriptor in this process"
ok "wrong descriptors refused: /dev/null as a VFIO cdev, /dev/iommu read-only, one not open"
