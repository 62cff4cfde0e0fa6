#!/usr/bin/env python3
"""Writes the generated seeds of the fuzz corpus (tests/fuzz/corpus/<target>/gen-*).

Each seed is a small input in the format the target's header comment describes: well-formed
requests of every code in protocol/requests.def, call sequences that reach each part of the
kernel, and paths that probe the parser. Inputs the fuzzer found and minimized live beside them
(names without the gen- prefix) and are kept as they are. Run again after adding a request.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def request_codes():
    with open(os.path.join(ROOT, "protocol", "requests.def")) as f:
        return re.findall(r"^CEK_REQUEST\((\w+)\)", f.read(), re.M)


CODES = request_codes()
CODE = {name: i for i, name in enumerate(CODES)}


def u16(text):
    return text.encode("utf-16-le")


# ---- fuzz_dispatch: flags, then [kind, len, body] requests (header made to fit) ----

def dreq(code, body, caller=0):
    assert len(body) < 256 and code < 64
    return bytes([(caller << 7) | code, len(body)]) + body


def draw(request, caller=0):
    """A raw request, header included (kind bit 6)."""
    n = len(request)
    size = bytes([n]) if n < 128 else bytes([0x80 | (n & 0x7F), n >> 7])
    return bytes([(caller << 7) | 0x40]) + size + request


# The two processes' own entries (their ids) are 0x102 and 0x106 in generation 1 (the table's
# first; values carry it above bit 22); the first object made is next.
GENERATION_1 = 1 << 22
PROCESS_A = GENERATION_1 | 0x102
FIRST_HANDLE = GENERATION_1 | 0x10A  # index 66


def dispatch_seeds():
    seeds = {}
    for name, code in CODE.items():
        seeds["gen-zero-" + name] = bytes([0]) + dreq(code, bytes(64))
        seeds["gen-zero-fsys-" + name] = bytes([1]) + dreq(code, bytes(64))
    mapping = struct.pack("<6I", 0xFFFFFFFF, 4, 0, 65536, 1, 3) + u16("Map")
    view = struct.pack("<4IQ2I", FIRST_HANDLE, 2, 0, 0, 0, 0, 0)
    seeds["gen-map"] = bytes([0]) + dreq(CODE["CreateMapping"], mapping) + dreq(CODE["MapView"], view) \
        + dreq(CODE["CreateMapping"], mapping, caller=1) + dreq(CODE["MapView"], view, caller=1) \
        + dreq(CODE["CloseHandle"], struct.pack("<2I", FIRST_HANDLE, 0))
    if "WindowTouch" in CODE:
        # A mapping of A's, touched by B inside and past its range, freed, touched again.
        inside = struct.pack("<Q", 0x2000_0000_0000 + 100)
        seeds["gen-touch"] = bytes([0]) + dreq(CODE["CreateMapping"], mapping) \
            + dreq(CODE["MapView"], view) + dreq(CODE["WindowTouch"], inside, caller=1) \
            + dreq(CODE["WindowTouch"], struct.pack("<Q", 0x2000_0001_0000), caller=1) \
            + dreq(CODE["UnmapView"], struct.pack("<Q", 0x2000_0000_0000)) \
            + dreq(CODE["CloseHandle"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["WindowTouch"], inside, caller=1)
    if "IdQuery" in CODE:
        # ce6 (flags bit 2): a thread, its id, OpenThread by it from the other process, the ids
        # behind handles and pseudo-handles, a duplicate into the other process's table.
        ce6_first = 0x00400003  # each process's first handle
        seeds["gen-ce6-ids"] = bytes([4]) + dreq(CODE["ThreadCreate"], struct.pack("<2I", 0, 0)) \
            + dreq(CODE["IdQuery"], struct.pack("<2I", ce6_first, 1)) \
            + dreq(CODE["IdQuery"], struct.pack("<2I", ce6_first, 3)) \
            + dreq(CODE["IdQuery"], struct.pack("<2I", 0x42, 2)) \
            + dreq(CODE["ProcessOpen"], struct.pack("<4I", 0x00400002, 0, 1, 0), caller=1) \
            + dreq(CODE["ProcessOpen"], struct.pack("<4I", 0x00400006, 0, 0, 0)) \
            + dreq(CODE["Duplicate"], struct.pack("<6I", 0x42, ce6_first, 0x00410003, 0, 0, 2)) \
            + dreq(CODE["CloseHandle"], struct.pack("<2I", ce6_first, 0), caller=1)
        seeds["gen-ce6-map"] = bytes([4]) + dreq(CODE["CreateMapping"], mapping) \
            + dreq(CODE["CreateMapping"], mapping, caller=1) \
            + dreq(CODE["MapView"], struct.pack("<4IQ2I", ce6_first, 2, 0, 0, 0, 0, 0)) \
            + dreq(CODE["CloseHandle"], struct.pack("<2I", ce6_first, 0)) \
            + dreq(CODE["CreateMapping"], mapping)
    if "IdQuery" in CODE:
        # ce6 with files (flags 4 | 1): a file mapping's view, flushed inside, past and before it
        # and from the other process, then unmapped (the reply names the view to write back).
        ce6_path = u16("\\Temp\\f.bin")
        ce6_create = struct.pack("<6I", 0xC0000000, 0, 2, 0, 1, len(ce6_path) // 2) + ce6_path
        at = 0x2000_0000_0000
        seeds["gen-ce6-flush"] = bytes([5]) + dreq(CODE["CreateFile"], ce6_create) \
            + dreq(CODE["CreateMapping"], struct.pack("<6I", 0x00400003, 4, 0, 8192, 0, 0)) \
            + dreq(CODE["MapView"], struct.pack("<4IQ2I", 0x00410003, 2, 0, 4096, 4096, 0, 0)) \
            + dreq(CODE["FlushView"], struct.pack("<2Q", at + 4096, 0)) \
            + dreq(CODE["FlushView"], struct.pack("<2Q", at + 4000, 200)) \
            + dreq(CODE["FlushView"], struct.pack("<2Q", at + 4096, 1), caller=1) \
            + dreq(CODE["UnmapView"], struct.pack("<Q", at + 4096))
    if "IdQuery" in CODE:
        # ce6 with files: views of a file mapping at an unaligned offset (their own ranges), the
        # same view again (reused), a write view, a 64-bit offset past the end, size 0; unmaps.
        ce6_path = u16("\\Temp\\v.bin")
        ce6_create = struct.pack("<6I", 0xC0000000, 0, 2, 0, 1, len(ce6_path) // 2) + ce6_path
        view = lambda access, high, low, size: dreq(
            CODE["MapView"], struct.pack("<4IQ2I", 0x00410003, access, high, low, size, 0, 0))
        at = 0x2000_0000_0000 + 0x2345
        seeds["gen-ce6-views"] = bytes([5]) + dreq(CODE["CreateFile"], ce6_create) \
            + dreq(CODE["CreateMapping"], struct.pack("<6I", 0x00400003, 4, 0, 0x30000, 0, 0)) \
            + view(4, 0, 0x12345, 0x100) + view(4, 0, 0x12345, 0x100) + view(2, 0, 0x12345, 0x100) \
            + view(4, 1, 0, 1) + view(0xF001F, 0, 0x20000, 0) \
            + dreq(CODE["UnmapView"], struct.pack("<Q", at)) \
            + dreq(CODE["UnmapView"], struct.pack("<Q", at)) \
            + dreq(CODE["UnmapView"], struct.pack("<Q", at))
    if "VmReserve" in CODE:
        # Two huge reservations, a release by the wrong process, by the owner, one left at death.
        reserve = struct.pack("<Q", 4 << 20)
        seeds["gen-huge"] = bytes([0]) + dreq(CODE["VmReserve"], reserve) \
            + dreq(CODE["VmReserve"], reserve, caller=1) + dreq(CODE["CreateMapping"], mapping) \
            + dreq(CODE["VmRelease"], struct.pack("<Q", 0x2000_0000_0000), caller=1) \
            + dreq(CODE["VmRelease"], struct.pack("<Q", 0x2000_0000_0000))
    path = u16("\\Temp\\a.txt")
    create = struct.pack("<6I", 0xC0000000, 0, 4, 0, 1, len(path) // 2) + path
    seeds["gen-file"] = bytes([1]) + dreq(CODE["CreateFile"], create) \
        + dreq(CODE["CreateMapping"], struct.pack("<6I", FIRST_HANDLE, 4, 0, 4096, 0, 0)) \
        + dreq(CODE["FileInfo"], struct.pack("<2I", FIRST_HANDLE, 0))
    pattern = u16("\\*")
    seeds["gen-find"] = bytes([1]) + dreq(CODE["FindFirst"], struct.pack("<2I", len(pattern) // 2, 0) + pattern) \
        + dreq(CODE["FindNext"], struct.pack("<2I", FIRST_HANDLE, 0)) \
        + dreq(CODE["FindClose"], struct.pack("<2I", FIRST_HANDLE, 0))
    seeds["gen-trace"] = bytes([0]) + dreq(CODE["TraceRead"], bytes(8)) \
        + dreq(CODE["CreateMapping"], mapping) + dreq(CODE["TraceRead"], struct.pack("<Q", 1))
    seeds["gen-malformed"] = bytes([0]) + draw(b"\x01\x00") \
        + draw(struct.pack("<4I", 1, 4096, 0, 0)) + draw(struct.pack("<4I", 999, 16, 0, 0))
    if "WaitObjects" in CODE:
        event = struct.pack("<6I", 1, 0, 0, 0, 0, 0)
        wait = struct.pack("<4I", 1, 0, 0xFFFFFFFF, 0) + struct.pack("<I", FIRST_HANDLE)
        seeds["gen-wait"] = bytes([0]) + dreq(CODE["SyncCreate"], event) + dreq(CODE["WaitObjects"], wait) \
            + dreq(CODE["EventSet"], struct.pack("<2I", FIRST_HANDLE, 1))
    if "MutexWord" in CODE:
        # A mutex, its word (the descriptor attached), a wait and releases around it, the word
        # of a handle that is no mutex.
        mutex = struct.pack("<6I", 2, 0, 0, 0, 0, 0)
        wait = struct.pack("<4I", 1, 0, 0, 0) + struct.pack("<I", FIRST_HANDLE)
        seeds["gen-mutexword"] = bytes([0]) + dreq(CODE["SyncCreate"], mutex) \
            + dreq(CODE["MutexWord"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["WaitObjects"], wait) \
            + dreq(CODE["MutexWord"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["MutexRelease"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["MutexRelease"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["MutexWord"], struct.pack("<2I", 0x7777, 0))
    if "MsgQueueCreate" in CODE:
        second = FIRST_HANDLE + 4  # index 65
        name = u16("Queue")
        reader = struct.pack("<8I", 20, 0, 4, 64, 1, 1, len(name) // 2, 0) + name
        seeds["gen-msgqueue"] = bytes([0]) + dreq(CODE["MsgQueueCreate"], reader) \
            + dreq(CODE["MsgQueueOpen"], struct.pack("<4I", 0x42, FIRST_HANDLE, 20, 0)) \
            + dreq(CODE["MsgQueueWrite"], struct.pack("<6I", second, 1, 5, 0, 0, 0) + b"hello") \
            + dreq(CODE["MsgQueueRead"], struct.pack("<4I", FIRST_HANDLE, 64, 0, 0)) \
            + dreq(CODE["MsgQueueInfo"], struct.pack("<2I", FIRST_HANDLE, 28)) \
            + dreq(CODE["MsgQueueWrite"], struct.pack("<6I", second, 0, 200, 0, 0, 0) + bytes(100)) \
            + dreq(CODE["MsgQueueWrite"], struct.pack("<6I", second, 0, 200, 100, 0, 0) + bytes(100)) \
            + dreq(CODE["MsgQueueRead"], struct.pack("<4I", FIRST_HANDLE, 64, 0, 0)) \
            + dreq(CODE["MsgQueueRead"], struct.pack("<4I", FIRST_HANDLE, 64, 0, 0xFFFFFFFF)) \
            + dreq(CODE["CloseHandle"], struct.pack("<2I", second, 0)) \
            + dreq(CODE["MsgQueueRead"], struct.pack("<4I", FIRST_HANDLE, 64, 0, 10))
    if "MsgQueueRing" in CODE:
        reader = struct.pack("<8I", 20, 0, 4, 64, 1, 0, 0, 0)
        unlimited = struct.pack("<8I", 20, 0, 0, 64, 1, 0, 0, 0)
        seeds["gen-msgring"] = bytes([0]) + dreq(CODE["MsgQueueCreate"], reader) \
            + dreq(CODE["MsgQueueRing"], struct.pack("<2I", FIRST_HANDLE, 1)) \
            + dreq(CODE["MsgQueueRing"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["MsgQueueNotify"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["MsgQueueCreate"], unlimited) \
            + dreq(CODE["MsgQueueRing"], struct.pack("<2I", FIRST_HANDLE + 4, 0)) \
            + dreq(CODE["MsgQueueNotify"], struct.pack("<2I", 0x7777, 0))
    if "RegCreateKey" in CODE:
        hklm = 0x80000002
        path = u16("Software\\Fuzz")
        name = u16("Value")
        n = len(name) // 2
        seeds["gen-registry"] = bytes([0]) \
            + dreq(CODE["RegCreateKey"], struct.pack("<4I", hklm, 1, len(path) // 2, 0) + path) \
            + dreq(CODE["RegSetValue"], struct.pack("<6I", FIRST_HANDLE, 4, n, 4, 0, 0) + name + b"\x2a\0\0\0") \
            + dreq(CODE["RegSetValue"], struct.pack("<6I", FIRST_HANDLE, 3, n, 400, 0, 0) + name + bytes(200)) \
            + dreq(CODE["RegSetValue"], struct.pack("<6I", FIRST_HANDLE, 3, n, 400, 200, 0) + name + bytes(200)) \
            + dreq(CODE["RegQueryValue"], struct.pack("<4IQ", FIRST_HANDLE, n, 0, 0, 0) + name) \
            + dreq(CODE["RegQueryValue"], struct.pack("<4IQ", FIRST_HANDLE, n, 100, 0, 1) + name) \
            + dreq(CODE["RegEnumValue"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["RegOpenKey"], struct.pack("<2I", hklm, 8) + u16("Software")) \
            + dreq(CODE["RegEnumKey"], struct.pack("<2I", FIRST_HANDLE + 4, 0)) \
            + dreq(CODE["RegQueryInfo"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["RegFlushKey"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["RegDeleteValue"], struct.pack("<2I", FIRST_HANDLE, n) + name) \
            + dreq(CODE["RegDeleteKey"], struct.pack("<2I", hklm, len(path) // 2) + path) \
            + dreq(CODE["RegQueryInfo"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["RegCloseKey"], struct.pack("<2I", FIRST_HANDLE, 0), caller=1) \
            + dreq(CODE["RegCloseKey"], struct.pack("<2I", FIRST_HANDLE, 0))
    if "StageText" in CODE:
        # A path staged in two parts, then used by RegCreateKey; RegOpenKey with nothing staged;
        # a part out of order; a staged path deleted.
        hklm = 0x80000002
        path = "Software\\Staged\\Path"
        first, rest = u16(path[:9]), u16(path[9:])
        total = len(path)
        staged = 0xFFFFFFFF
        seeds["gen-registry-staged"] = bytes([0]) \
            + dreq(CODE["StageText"], struct.pack("<4I", total, 0, 9, 0) + first) \
            + dreq(CODE["StageText"], struct.pack("<4I", total, 9, total - 9, 0) + rest) \
            + dreq(CODE["RegCreateKey"], struct.pack("<4I", hklm, 0, staged, 0)) \
            + dreq(CODE["RegOpenKey"], struct.pack("<2I", hklm, staged)) \
            + dreq(CODE["StageText"], struct.pack("<4I", total, 3, 9, 0) + first) \
            + dreq(CODE["StageText"], struct.pack("<4I", total, 0, 9, 0) + first) \
            + dreq(CODE["StageText"], struct.pack("<4I", total, 9, total - 9, 0) + rest) \
            + dreq(CODE["RegDeleteKey"], struct.pack("<2I", hklm, staged))
    if "ThreadCreate" in CODE:
        # A suspended thread, its start, a resume, a priority, its exit, its exit code.
        seeds["gen-thread"] = bytes([0]) + dreq(CODE["ThreadCreate"], struct.pack("<2I", 4, 0)) \
            + dreq(CODE["ThreadAttach"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["ThreadControl"], struct.pack("<4I", FIRST_HANDLE, 2, 0, 0)) \
            + dreq(CODE["ThreadQuery"], struct.pack("<4I", FIRST_HANDLE, 2, 5, 0)) \
            + dreq(CODE["ThreadExit"], struct.pack("<2I", 5, 0)) \
            + dreq(CODE["ThreadQuery"], struct.pack("<4I", FIRST_HANDLE, 100, 0, 0))
    if "ThreadRemote" in CODE:
        # A's running thread suspended by B (another host process): queued for A's agent, which
        # takes it and reports it done (the first token is 1); B's resume, queued with nobody
        # waiting; B's terminate, taken and reported; a take with nothing left, a stale token.
        remote = lambda op, token: dreq(CODE["ThreadRemote"], struct.pack("<2I", op, token))
        seeds["gen-thread-remote"] = bytes([0]) \
            + dreq(CODE["ThreadCreate"], struct.pack("<2I", 0, 0)) \
            + dreq(CODE["ThreadAttach"], struct.pack("<2I", FIRST_HANDLE, 0)) \
            + dreq(CODE["ThreadControl"], struct.pack("<4I", FIRST_HANDLE, 1, 0, 0), caller=1) \
            + remote(1, 0) + remote(2, 1) \
            + dreq(CODE["ThreadControl"], struct.pack("<4I", FIRST_HANDLE, 2, 0, 0), caller=1) \
            + remote(1, 0) \
            + dreq(CODE["ThreadControl"], struct.pack("<4I", FIRST_HANDLE, 3, 7, 0), caller=1) \
            + remote(1, 0) + remote(2, 2) + remote(1, 0) + remote(2, 2) + remote(3, 0)
    if "ProcessCreate" in CODE:
        # With a file system: CreateProcessW of a missing image, of an empty file (no program),
        # with a bad flag, of the harness's script \Windows\run.exe (its process is 0x10E after
        # the file's 0x10A); its exit code, an OpenProcess and a terminate of it; OpenProcess of
        # the other process, its code, a terminate the kernel refuses (not its child);
        # ExitProcess's code.
        def create(image, line="", flags=0):
            body = struct.pack("<8I", flags, 0, 1, 0, 0, len(image), len(line), 0)
            return dreq(CODE["ProcessCreate"], body + u16(image) + u16(line))
        empty = u16("\\p.exe")
        seeds["gen-process"] = bytes([1]) + create("missing", "a b") \
            + dreq(CODE["CreateFile"], struct.pack("<6I", 0x40000000, 0, 2, 0, 0, len(empty) // 2)
                   + empty) \
            + create("\\p", "x", 4) + create("p.exe", "", 0x8) \
            + create("run", "\"a b\" c", 4) \
            + dreq(CODE["ProcessControl"], struct.pack("<4I", GENERATION_1 | 0x10E, 1, 0, 0)) \
            + dreq(CODE["ProcessOpen"], struct.pack("<2I", GENERATION_1 | 0x10E, 0), caller=1) \
            + dreq(CODE["ProcessControl"], struct.pack("<4I", GENERATION_1 | 0x10E, 2, 5, 0),
                   caller=1) \
            + dreq(CODE["ProcessControl"], struct.pack("<4I", GENERATION_1 | 0x10E, 1, 0, 0)) \
            + dreq(CODE["ProcessOpen"], struct.pack("<2I", PROCESS_A, 0), caller=1) \
            + dreq(CODE["ProcessControl"], struct.pack("<4I", PROCESS_A, 1, 0, 0), caller=1) \
            + dreq(CODE["ProcessControl"], struct.pack("<4I", PROCESS_A, 2, 7, 0), caller=1) \
            + dreq(CODE["ProcessControl"], struct.pack("<4I", 0x42, 3, 9, 0))
        # A command line staged in two parts (StageText, purpose 1) and taken by ProcessCreate;
        # one asked for with nothing staged; a registry path staged but a command line asked
        # for; one said to be too long to send.
        def create_staged(image, overflow=0):
            body = struct.pack("<8I", 0, 0, 1, 0, 0, len(image), 0xFFFFFFFF, overflow)
            return dreq(CODE["ProcessCreate"], body + u16(image))
        line = "\"a b\" c d e f"
        stage = lambda total, at, part, purpose=1: dreq(
            CODE["StageText"], struct.pack("<4I", total, at, len(part), purpose) + u16(part))
        seeds["gen-process-staged"] = bytes([1]) + stage(len(line), 0, line[:5]) \
            + stage(len(line), 5, line[5:]) + create_staged("run") + create_staged("run") \
            + stage(3, 0, "abc", 0) + create_staged("run") \
            + dreq(CODE["ProcessCreate"], struct.pack("<8I", 0, 0, 1, 0, 0, 3, 0, 1) + u16("run"))
    return seeds


# ---- fuzz_sequence: flags, then operations (see fuzz_sequence.cpp's step()) ----

OP = dict(attach=0, die=1, create=2, map=4, unmap=6, flush=7, close=8, file=9, file_call=11,
          find=12, path=13, snapshot=14, raw=15, sync_create=16, sync_open=18, signal=19,
          wait=21, wait_control=22, duplicate=23, huge=24, msgqueue_create=25, msgqueue_io=26,
          registry_keys=27, registry_values=28, thread=29)


def seq_create(caller, named=True, name_index=0, protect=0, size=0, file_handle=None):
    shape = (4 if named else 0) | (name_index << 4) | (1 if file_handle is not None else 0)
    out = bytes([OP["create"], caller, shape])
    if file_handle is not None:
        out += bytes([file_handle])  # pick_handle selector
    return out + bytes([protect, size])


def seq_map(caller, handle_pick=0, access=0, offset=0, size=0):
    return bytes([OP["map"], caller, handle_pick, access, offset, size, 0])


def sequence_seeds():
    seeds = {}
    two_views = seq_create(0) + seq_map(0) + seq_create(1) + seq_map(1) + seq_map(1)
    seeds["gen-named-shared"] = bytes([0]) + two_views \
        + bytes([OP["unmap"], 0, 2]) + bytes([OP["close"], 0, 0]) + bytes([OP["snapshot"], 1])
    seeds["gen-close-twice"] = bytes([0]) + seq_create(0, named=False) + seq_map(0) \
        + bytes([OP["close"], 0, 0]) * 3 + bytes([OP["unmap"], 0, 2])
    seeds["gen-die"] = bytes([0]) + two_views + bytes([OP["die"], 0]) + bytes([OP["attach"]]) \
        + seq_create(2) + bytes([OP["die"] | 0x80, 0])
    seeds["gen-full-table"] = bytes([2]) + (seq_create(0, named=False) * 20)
    seeds["gen-bad-params"] = bytes([0]) + seq_create(0, protect=1) + seq_create(0, size=4) \
        + seq_create(0, size=8) + seq_map(0, access=5) + seq_map(0, offset=4)
    file_open = bytes([OP["file"], 0, 0, 0, 0, 0, 1, 0])  # R|W, share 0, OPEN_ALWAYS, cffm
    seeds["gen-cffm"] = bytes([1]) + file_open + seq_create(0, named=True, file_handle=3) \
        + seq_map(0) + bytes([OP["flush"], 0, 2, 0]) + bytes([OP["die"], 0])
    seeds["gen-files"] = bytes([1]) + bytes([OP["file"], 0, 0, 4, 0, 0, 0, 0]) \
        + bytes([OP["file"], 1, 1, 0, 3, 0, 0, 1]) + bytes([OP["file_call"], 0, 1, 0]) \
        + bytes([OP["find"], 0, 0, 1]) + bytes([OP["find"], 0, 1, 0]) \
        + bytes([OP["path"], 0, 5, 0, 2]) + bytes([OP["path"], 0, 2, 4, 0, 0])
    if "WaitObjects" in CODE:
        seeds["gen-sync"] = bytes([0]) + bytes([OP["sync_create"], 0, 0, 0, 0, 0, 1]) \
            + bytes([OP["wait"], 0, 0, 0, 1, 1]) + bytes([OP["signal"], 0, 3, 0, 2]) \
            + bytes([OP["sync_create"], 0, 0x14, 1, 0, 0, 1]) + bytes([OP["wait"], 0, 1, 0, 0, 1, 2]) \
            + bytes([OP["duplicate"], 0, 0, 0, 0]) + bytes([OP["wait_control"], 0x81]) \
            + bytes([OP["die"], 0])
    if "VmReserve" in CODE:
        # Reserve (2 MiB, 4 MiB, too small), release one's own, then another's, then die holding one.
        seeds["gen-huge"] = bytes([0]) + bytes([OP["huge"], 0, 0, 0]) + bytes([OP["huge"], 1, 0, 1]) \
            + bytes([OP["huge"], 0, 0, 2]) + bytes([OP["huge"], 0, 1, 0, 0, 0, 1]) \
            + bytes([OP["huge"], 0, 1, 0, 1, 0, 1]) + seq_create(0) + seq_map(0) \
            + bytes([OP["die"], 1]) + bytes([OP["huge"], 0, 0, 1])
    if "MsgQueueCreate" in CODE:
        # A named reader, its writer by name in another process, an alert write, a read, a
        # large message in parts, info, then the writer's death.
        seeds["gen-msgqueue"] = bytes([0]) + bytes([OP["attach"]]) \
            + bytes([OP["msgqueue_create"], 0, 0x05, 0, 0, 0, 0]) \
            + bytes([OP["msgqueue_create"], 1, 0x04, 0, 0, 0, 0]) \
            + bytes([OP["msgqueue_io"], 1, 0x40, 1, 1]) \
            + bytes([OP["msgqueue_io"], 0, 0x01, 0, 0]) \
            + bytes([OP["msgqueue_io"], 1, 0x20, 1, 4, 0]) \
            + bytes([OP["msgqueue_io"], 0, 0x02, 0, 0]) \
            + bytes([OP["msgqueue_create"], 1, 0xC0, 0, 0, 0, 0]) \
            + bytes([OP["die"], 1])
    if "RegCreateKey" in CODE:
        # Keys under HKLM created twice (the second opens), a volatile one, values set, read,
        # enumerated, a large one in parts, a flush, a subtree deleted under an open handle,
        # RegCloseKey, then the owner's death with keys open.
        # registry_keys: caller, shape (op = shape % 4), hkey selector, path selector.
        # registry_values: caller, shape (op = shape % 6), hkey selector, name selector, ...
        seeds["gen-registry"] = bytes([0]) + bytes([OP["attach"]]) \
            + bytes([OP["registry_keys"], 0, 0x00, 0x82, 2]) \
            + bytes([OP["registry_keys"], 1, 0x84, 0x82, 2]) \
            + bytes([OP["registry_keys"], 0, 0x01, 0x82, 1]) \
            + bytes([OP["registry_values"], 0, 0x00, 0, 1, 0, 0]) \
            + bytes([OP["registry_values"], 0, 0x01, 0, 2, 0]) \
            + bytes([OP["registry_values"], 0, 0x04, 0, 0, 0]) \
            + bytes([OP["registry_values"], 0, 0x80, 0, 3, 2, 0]) \
            + bytes([OP["registry_values"], 0, 0xC0, 0, 3, 2, 1]) \
            + bytes([OP["registry_values"], 0, 0x03, 0x82, 0, 0]) \
            + bytes([OP["registry_values"], 0, 0x05, 0x82, 0]) \
            + bytes([OP["registry_keys"], 0, 0x02, 0x82, 1]) \
            + bytes([OP["registry_values"], 0, 0x01, 0, 2, 0]) \
            + bytes([OP["registry_keys"], 0, 0x03, 0]) \
            + bytes([OP["registry_keys"], 0, 0x03, 0]) \
            + bytes([OP["registry_keys"], 0, 0x40, 0x85, 3]) \
            + bytes([OP["die"], 1])
        # Staged paths (shape bit 3, then how the path is staged): a long one created and
        # opened, one a unit short, one out of order, one half sent, then a deletion.
        seeds["gen-registry-staged"] = bytes([0]) + bytes([OP["attach"]]) \
            + bytes([OP["registry_keys"], 0, 0x08, 0x82, 2, 0x80]) \
            + bytes([OP["registry_keys"], 0, 0x09, 0x82, 2, 0x80]) \
            + bytes([OP["registry_keys"], 0, 0x09, 0x82, 2, 0x10]) \
            + bytes([OP["registry_keys"], 0, 0x09, 0x82, 2, 0x20]) \
            + bytes([OP["registry_keys"], 0, 0x09, 0x82, 2, 0x40]) \
            + bytes([OP["registry_keys"], 0, 0x0A, 0x82, 2, 0x80]) \
            + bytes([OP["die"], 0])
    if "ThreadCreate" in CODE:
        # Threads created, started, suspended and resumed, queried, waited on, ended, and
        # their process's death.
        seeds["gen-thread"] = bytes([0]) + bytes([OP["attach"]]) \
            + bytes([OP["thread"], 0, 0x00, 0, 0, 1, 0]) \
            + bytes([OP["thread"], 0, 0x11, 1, 0]) \
            + bytes([OP["thread"], 0, 0x03, 0, 0, 0, 0]) \
            + bytes([OP["thread"], 0, 0x83, 1, 1, 0]) \
            + bytes([OP["thread"], 0, 0x04, 0, 0, 2, 3]) \
            + bytes([OP["wait"], 1, 0, 0, 0]) \
            + bytes([OP["thread"], 0, 0x02, 1, 0, 1]) \
            + bytes([OP["die"], 0])
    return seeds


# ---- fuzz_path: mode byte, then the text (mode bit 0: alphabet bytes; else UTF-16LE) ----

def path_seeds():
    texts = [
        "\\Temp\\a.txt", "Temp/sub/../b.dat", "..\\..\\..\\cek-outside-file", "\\Temp\\up",
        "\\updir\\cek-outside-dir\\*", "\\Windows\\out\\x", "a.  ", "...", "\\Temp\\*.txt",
        "*.*|readme", "readme.*|README", "a*b*c|aXbYc", "Ä\\ä|ÄÖÜ", "σς\\Σ", "a:b", "\\\\//\\.",
        "\\Temp\\" + "n" * 255, "x" * 258, "\U0001F600\\a",
    ]
    seeds = {}
    for i, t in enumerate(texts):
        seeds["gen-text-%02d" % i] = bytes([0]) + t.encode("utf-16-le")
    seeds["gen-lone-surrogate"] = bytes([0]) + b"\x00\xd8a\x00"
    seeds["gen-alphabet"] = bytes([1]) + bytes(range(48))
    return seeds


def main():
    for target, seeds in (("dispatch", dispatch_seeds()), ("sequence", sequence_seeds()),
                          ("path", path_seeds())):
        out = os.path.join(HERE, "corpus", target)
        os.makedirs(out, exist_ok=True)
        for old in os.listdir(out):
            if old.startswith("gen-"):
                os.remove(os.path.join(out, old))
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} generated seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
