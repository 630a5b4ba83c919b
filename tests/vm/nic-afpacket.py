#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""nic-afpacket.py: the Linux side of tests/vm/nic-kernel.sh.

  nic-afpacket.py recv IFACE COUNT SIZE TIMEOUT   check COUNT zdk-pktgen frames
  nic-afpacket.py send IFACE COUNT SIZE DST_MAC   send COUNT frames in its format

The format (examples/pktgen/main.c): Ethernet/IPv4/UDP headers (42 bytes), then
magic 0x5a44 (u16 LE), seq (u32 LE), TSC (u64 LE), then byte i of the frame is
(seq * 131 + i * 7 + 1) & 0xff. SIZE counts the CRC, as pktgen's -s does.
"""
import select
import socket
import struct
import sys
import time

HDR = 42
PROBE = struct.Struct("<HIQ")
MAGIC = 0x5A44


def pattern(seq, start, end):
    return bytes((seq * 131 + i * 7 + 1) & 0xFF for i in range(start, end))


def recv(iface, count, size, timeout):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: python is slow under TCG
    s.bind((iface, 0))
    print(f"afpacket: listening on {iface}", flush=True)
    seen, bad, other = set(), 0, 0
    end = time.time() + timeout
    while len(seen) < count and time.time() < end:
        if not select.select([s], [], [], 0.2)[0]:
            continue
        f = s.recv(2048)
        if len(f) < HDR + PROBE.size or f[12:14] != b"\x08\x00" or f[23] != 17:
            other += 1
            continue
        magic, seq, _ = PROBE.unpack_from(f, HDR)
        if magic != MAGIC:
            other += 1
            continue
        if len(f) != size - 4 or f[HDR + PROBE.size:] != pattern(seq, HDR + PROBE.size, len(f)):
            bad += 1
        elif seq in seen:
            bad += 1
        else:
            seen.add(seq)
    ok = len(seen) == count and bad == 0 and seen == set(range(count))
    print(f"afpacket: RESULT received={len(seen)} of {count} bad={bad} other={other}", flush=True)
    return 0 if ok else 1


def send(iface, count, size, dst):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    n = size - 4
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, n - 14, 0, 0, 64, 17, 0,
                               bytes([198, 18, 0, 2]), bytes([198, 19, 0, 2])))
    csum = sum(struct.unpack("!10H", ip))
    csum = (csum & 0xFFFF) + (csum >> 16)
    ip[10:12] = struct.pack("!H", ~csum & 0xFFFF)
    udp = struct.pack("!HHHH", 1234, 5678, n - 34, 0)
    head = bytes.fromhex(dst.replace(":", "")) + src + b"\x08\x00" + bytes(ip) + udp
    for seq in range(count):
        body = PROBE.pack(MAGIC, seq, 0) + pattern(seq, HDR + PROBE.size, n)
        s.send(head + body)
        if seq % 64 == 63:
            time.sleep(0.002)  # stay within what the emulated receiver takes
    print(f"afpacket: sent {count} frames of {size} B on {iface}", flush=True)
    return 0


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 6 and a[1] == "recv":
        sys.exit(recv(a[2], int(a[3]), int(a[4]), float(a[5])))
    if len(a) == 6 and a[1] == "send":
        sys.exit(send(a[2], int(a[3]), int(a[4]), a[5]))
    sys.exit(__doc__)
