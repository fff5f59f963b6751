#!/usr/bin/env python3
"""Lists the CUDA fatbin entries of a library (kind and sm) when cuobjdump is not installed.

Layout (as nvcc 13.0 writes it): a fatbin header {u32 magic 0xBA55ED50, u16 version, u16 header size, u64 size},
then entries {u16 kind (1 = PTX, 2 = ELF/SASS), u16 version, u32 header size, u64 payload size, ..., u32 sm at 28}.
"""
import struct
import sys

MAGIC = struct.pack('<I', 0xBA55ED50)
data = open(sys.argv[1], 'rb').read()
seen = set()
at = data.find(MAGIC)
while at >= 0:
    _, _, header, size = struct.unpack_from('<IHHQ', data, at)
    p, end = at + header, at + header + size
    while p < end:
        kind, _, entry_header, payload = struct.unpack_from('<HHIQ', data, p)
        sm = struct.unpack_from('<I', data, p + 28)[0]
        seen.add(({1: 'ptx', 2: 'elf'}.get(kind, 'kind%d' % kind), sm))
        p += entry_header + payload
    at = data.find(MAGIC, end)
for kind, sm in sorted(seen):
    print('fatbin %s sm_%d' % (kind, sm))
