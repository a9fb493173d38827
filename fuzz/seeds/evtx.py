#!/usr/bin/env python3
"""Write the EVTX seeds of the `logs_evtx` fuzz target: small files built from scratch (file
header, one chunk, records in plain BinXML elements with inline names), valid and edge cases.

    python3 fuzz/seeds/evtx.py fuzz/corpus/logs_evtx

The target pads its input to whole 64 KiB chunks, so the seeds stop where their last record
ends (a few KiB, not 68). Public sample logs are not copied into the repository: scripts/fuzz.sh
adds them (read where they are) when they are on the machine.
"""
import struct
import sys
import zlib
from pathlib import Path

FILE_HEADER = 4096
CHUNK_HEADER = 512


def utf16(s):
    return s.encode("utf-16-le")


class Chunk:
    """BinXML written at its final offset in the chunk: inline names need their own offset.
    Every writer appends to `buf`, whose first byte sits at chunk offset `base`."""

    def __init__(self):
        self.data = bytearray(CHUNK_HEADER)

    @staticmethod
    def name(buf, base, text):
        # The name is stored inline when its offset is where the reference ends.
        at = base + len(buf) + 4
        buf += struct.pack("<I", at)
        buf += struct.pack("<IHH", 0, 0, len(text)) + utf16(text) + b"\0\0"

    def element(self, buf, base, name, attrs=(), text=None, children=(), template=False):
        """`text` is a string, or an int: the index of a template substitution."""
        buf.append(0x41 if attrs else 0x01)
        if template:
            buf += struct.pack("<H", 0xFFFF)  # dependency id: none
        buf += struct.pack("<I", 0)  # data size: not read
        self.name(buf, base, name)
        if attrs:
            buf += struct.pack("<I", 0)  # attribute list size: not read
            for i, (k, v) in enumerate(attrs):
                buf.append(0x46 if i + 1 < len(attrs) else 0x06)
                self.name(buf, base, k)
                self.value(buf, v)
        if text is None and not children:
            buf.append(0x03)  # close empty element
            return
        buf.append(0x02)  # close start element
        if text is not None:
            self.value(buf, text)
        for c in children:
            self.element(buf, base, *c, template=template)
        buf.append(0x04)  # end element

    @staticmethod
    def value(buf, text):
        if isinstance(text, int):
            buf += bytes([0x0E]) + struct.pack("<HB", text, 0x01)  # optional substitution, string
        else:
            buf += bytes([0x05, 0x01]) + struct.pack("<H", len(text)) + utf16(text)

    def record(self, record_id, event, values=None):
        """A record of plain elements, or with `values` a template instance whose definition
        (`event`, substitutions as ints) is stored inline."""
        start = len(self.data)
        base = start + 24
        body = bytearray([0x0F, 1, 1, 0])  # fragment header
        if values is None:
            self.element(body, base, *event)
        else:
            body += bytes([0x0C, 0x01]) + struct.pack("<I", 7)
            definition_at = base + len(body) + 4
            body += struct.pack("<I", definition_at)
            definition = bytearray([0x0F, 1, 1, 0])
            self.element(definition, definition_at + 24, *event, template=True)
            definition.append(0x00)
            body += struct.pack("<I", 0) + bytes(range(16)) + struct.pack("<I", len(definition))
            body += definition
            body += struct.pack("<I", len(values))
            for v in values:
                body += struct.pack("<HBB", len(utf16(v)), 0x01, 0)
            for v in values:
                body += utf16(v)
        body.append(0x00)  # end of stream
        size = 24 + len(body) + 4
        self.data += struct.pack(
            "<4sIQQ", b"**\0\0", size, record_id, 133_000_000_000_000_000 + record_id
        )
        self.data += body + struct.pack("<I", size)
        return start

    def finish(self, first_id, last_id, last_offset):
        free = len(self.data)
        head = bytearray(CHUNK_HEADER)
        head[0:8] = b"ElfChnk\0"
        head[8:44] = struct.pack("<QQQQI", 1, last_id - first_id + 1, first_id, last_id, 128)
        head[44:56] = struct.pack("<III", last_offset, free, zlib.crc32(self.data[CHUNK_HEADER:free]))
        head[124:128] = struct.pack("<I", zlib.crc32(bytes(head[:120]) + bytes(head[128:512])))
        self.data[:CHUNK_HEADER] = head
        return bytes(self.data)


def file_header(chunks):
    h = bytearray(FILE_HEADER)
    h[0:8] = b"ElfFile\0"
    h[8:44] = struct.pack("<QQQIHHHH", 0, chunks - 1, 100, 128, 1, 3, FILE_HEADER, chunks)
    h[124:128] = struct.pack("<I", zlib.crc32(bytes(h[:120])))
    return bytes(h)


def system(event_id, channel, computer, provider="Microsoft-Windows-Security-Auditing"):
    return (
        "System",
        (),
        None,
        [
            ("Provider", [("Name", provider)]),
            ("EventID", (), str(event_id)),
            ("TimeCreated", [("SystemTime", "2025-03-01T08:15:00.000000Z")]),
            ("EventRecordID", (), "1"),
            ("Channel", (), channel),
            ("Computer", (), computer),
        ],
    )


def data(pairs):
    return ("EventData", (), None, [("Data", [("Name", k)], v) for k, v in pairs])


FAILED_LOGON = (
    "Event",
    [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")],
    None,
    [
        system(4625, "Security", "ws01.chu.test"),
        data([("TargetUserName", "alice"), ("LogonType", "3"), ("IpAddress", "10.1.2.3")]),
    ],
)
PROCESS = (
    "Event",
    (),
    None,
    [
        system(1, "Microsoft-Windows-Sysmon/Operational", "ws02", "Microsoft-Windows-Sysmon"),
        data(
            [
                ("Image", "C:\\Windows\\System32\\whoami.exe"),
                ("CommandLine", "whoami /all"),
                ("ParentImage", "C:\\Windows\\System32\\cmd.exe"),
            ]
        ),
    ],
)
NO_SYSTEM = ("Event", (), None, [data([("x", "y")])])
UNNAMED_DATA = ("Event", (), None, [system(4688, "Security", "ws03"), ("EventData", (), None, [("Data", (), "a"), ("Data", (), "b")])])


# A template as Windows writes records: the event's shape once, its values substituted.
TEMPLATE = (
    "Event",
    (),
    None,
    [
        (
            "System",
            (),
            None,
            [
                ("Provider", [("Name", 0)]),
                ("EventID", (), 1),
                ("Channel", (), 2),
                ("Computer", (), 3),
            ],
        ),
        ("EventData", (), None, [("Data", [("Name", "TargetUserName")], 4), ("Data", [("Name", "LogonType")], 5)]),
    ],
)
TEMPLATE_VALUES = ["Microsoft-Windows-Security-Auditing", "4625", "Security", "dc01", "bob", "10"]


def evtx(events):
    c = Chunk()
    last = 0
    for i, e in enumerate(events, 1):
        last = c.record(i, *e) if isinstance(e, list) else c.record(i, e)
    return file_header(1) + c.finish(1, len(events), last)


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = {
        "failed-logon.evtx": evtx([FAILED_LOGON]),
        "two-records.evtx": evtx([FAILED_LOGON, PROCESS]),
        "edge-no-system-unnamed-data.evtx": evtx([NO_SYSTEM, UNNAMED_DATA]),
        "edge-header-only.evtx": file_header(1),
        "template-instance.evtx": evtx([[TEMPLATE, TEMPLATE_VALUES], FAILED_LOGON]),
    }
    for name, b in seeds.items():
        (out / name).write_bytes(b)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/logs_evtx")
