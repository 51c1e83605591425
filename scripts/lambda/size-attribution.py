#!/usr/bin/env python3
"""Where a Lambda bootstrap's bytes come from, from the linker's map file (lld -Map, written by scripts/package.sh).

Usage: size-attribution.py MAP [--top N]               every origin (or the N largest), largest first
       size-attribution.py MAP --members ARCHIVE [--top N]  the members of one archive (e.g. FoundationEssentials;
                                                       the 25 largest unless --top says)
       size-attribution.py --groups NAME=MAP[,BINARY] ...  coarse groups, one column per function; with the linked
                                                       (or stripped) BINARY, also each group's bytes deflated alone

Counts every input section the linker placed in an allocated, file-backed output section (what `strip --strip-all`
keeps; .bss/.tbss take no file space, debug and symbol tables are stripped) and groups it by origin:
  - a Swift module of this package (the object files under <scratch>/<triple>/release/<Module>.build/),
  - a static library (libswiftCore.a, libFoundationEssentials.a, libcrypto.a, libcurl.a, ...),
  - "linker: <section>" for what the linker itself generates (.rela.dyn relocations, .dynsym/.dynstr/.gnu.hash
    exported symbols, .eh_frame_hdr, .got, .plt, ...),
  - "C runtime objects" for crt*.o and the glibc shim.
Prints a Markdown table (origin, bytes, share); with --members, the archive members of the first matching archive
instead (e.g. --members FoundationEssentials: which of its source files are linked, largest first); with --groups,
the origins summed into GROUPS below, one column per map. A group's deflated size (zlib level 9 over its bytes
read from the binary, one stream per group) says what it costs in the zip; the sum is close to the zip's size.
"""
import collections
import re
import struct
import sys
import zlib

NOT_IN_FILE = {".bss", ".tbss"}
STRIPPED = re.compile(r"^\.(debug|comment|symtab|strtab|shstrtab|gnu_debuglink)")
LINE = re.compile(r"^\s*([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\d+) (\s*)(\S.*)$")


def origin(path, members):
    if path.startswith("<internal>"):
        return None
    archive = re.match(r"^(.*?)\((.*)\)$", path)
    if archive:
        lib = archive.group(1).rsplit("/", 1)[-1]
        return f"{lib}({archive.group(2)})" if members else lib
    module = re.search(r"/([^/]+)\.build/[^/]+\.o$", path)
    if module:
        return f"Swift module {module.group(1)}"
    return "C runtime objects"


# Coarse groups for --groups (first match wins). The regex libraries are in the Foundation group: nothing of ours
# reaches them once FoundationEssentials is gone (its ISO 8601 styles, Regex and JSONDecoder reference them).
GROUPS = [
    ("Swift stdlib + runtime (libswiftCore, Concurrency, Synchronization, Glibc, dispatch)",
     r"^lib(swiftCore|swift_Concurrency|swiftSynchronization|swiftGlibc|dispatch|BlocksRuntime|swiftDispatch)\.a$"),
    ("FoundationEssentials (+ _FoundationCollections, _StringProcessing, _RegexParser)",
     r"^lib(FoundationEssentials|_FoundationCollections|_FoundationCShims|swift_StringProcessing|swift_RegexParser)\.a$"),
    ("OpenSSL (libcrypto, libssl)", r"^lib(crypto|ssl)\.a$"),
    ("libcurl, zlib", r"^lib(curl|z)\.a$"),
    ("Swift modules of this package", r"^Swift module "),
    ("linker: relocations (.rela.dyn)", r"^linker: \.rela\.dyn$"),
    ("linker: exported symbols (.dynsym, .dynstr, .gnu.hash)", r"^linker: \.(dynsym|dynstr|gnu\.hash)$"),
    ("other (unwind index, merged strings, C runtime, PLT/GOT)", r""),
]


def read_map(path, members=None, extents=None):
    sizes = collections.Counter()
    out_section, keep = None, False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            m = LINE.match(raw)
            if not m:
                continue
            vma, size, indent, rest = int(m.group(1), 16), int(m.group(3), 16), len(m.group(5)), m.group(6)
            if indent == 0:  # output section
                out_section = rest.strip()
                keep = vma != 0 and out_section not in NOT_IN_FILE and not STRIPPED.match(out_section)
                continue
            if indent != 8 or not keep:  # 8: input section; deeper: symbols
                continue
            src = rest.rsplit(":(", 1)[0]
            if src.startswith("<internal>"):
                if members is None:
                    sizes[f"linker: {out_section}"] += size
                    if extents is not None:
                        extents.append((f"linker: {out_section}", vma, size))
                continue
            who = origin(src, members)
            if members is not None:
                if members not in who or "(" not in who:
                    continue
                who = who.split("(", 1)[1].rstrip(")")
            sizes[who] += size
            if extents is not None:
                extents.append((who, vma, size))
    return sizes


def load_segments(binary):
    """(vaddr, file offset, file size) of every PT_LOAD segment of an ELF64 little-endian file."""
    with open(binary, "rb") as handle:
        data = handle.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"{binary}: not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            segments.append((p_vaddr, p_offset, p_filesz))
    return data, segments


def group_of(who):
    return next(label for label, pattern in GROUPS if re.search(pattern, who))


def groups(pairs):
    names = [pair.split("=", 1)[0] for pair in pairs]
    columns, deflated = [], []
    for pair in pairs:
        paths = pair.split("=", 1)[1].split(",")
        extents = [] if len(paths) > 1 else None
        summed = collections.Counter()
        for who, size in read_map(paths[0], extents=extents).items():
            summed[group_of(who)] += size
        columns.append(summed)
        if extents is None:
            deflated.append(None)
            continue
        data, segments = load_segments(paths[1])
        chunks = collections.defaultdict(list)
        for who, vma, size in extents:
            for vaddr, offset, filesz in segments:
                if vaddr <= vma and vma + size <= vaddr + filesz:
                    chunks[group_of(who)].append(data[offset + vma - vaddr:offset + vma - vaddr + size])
                    break
        deflated.append({label: len(zlib.compress(b"".join(parts), 9)) for label, parts in chunks.items()})
    header = []
    for name, packed in zip(names, deflated):
        header.append(name if packed is None else f"{name} | {name} deflated")
    print("| bytes (allocated sections) | " + " | ".join(header) + " |")
    print("|---|" + "---:|" * sum(1 if p is None else 2 for p in deflated))

    def cells(values):
        out = []
        for column, packed in zip(columns, deflated):
            out.append(values(column, packed))
        return " | ".join(out)

    for label, _ in GROUPS:
        print(f"| {label} | " + cells(lambda c, p: str(c[label]) if p is None else f"{c[label]} | {p.get(label, 0)}") + " |")
    print("| **total** | " + cells(lambda c, p: f"**{sum(c.values())}**" if p is None
                                   else f"**{sum(c.values())}** | **{sum(p.values())}**") + " |")


def main():
    args = sys.argv[1:]
    if len(args) > 1 and args[0] == "--groups":
        return groups(args[1:])
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    path, members, top = args[0], None, None
    options = args[1:]
    while options:
        if len(options) >= 2 and options[0] == "--members":
            members = options[1]
        elif len(options) >= 2 and options[0] == "--top":
            top = int(options[1])
        else:
            sys.exit(__doc__)
        options = options[2:]
    sizes = read_map(path, members)
    total = sum(sizes.values())
    title = f"member of {members}" if members else "origin"
    print(f"| {title} | bytes | share |")
    print("|---|---:|---:|")
    shown = 0
    for who, size in sizes.most_common():
        if size == 0:
            continue
        if shown >= (top or (25 if members is not None else len(sizes))):
            rest = total - sum(s for _, s in sizes.most_common(shown))
            what = "members" if members is not None else "origins"
            print(f"| (other {len(sizes) - shown} {what}) | {rest} | {100 * rest / total:.1f} % |")
            break
        print(f"| {who} | {size} | {100 * size / total:.1f} % |")
        shown += 1
    print(f"| **total (allocated sections)** | **{total}** | 100 % |")


if __name__ == "__main__":
    main()
