#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (fuzz/corpus/<target>/) from the project's own vectors.

- wire targets (decode, decode_then_encode, verify_auth): the packets of
  crates/scsp-core/tests/wire_vectors.rs (its `const NAME: &str = "…hex…";` vectors);
- profile targets: the records of the byte-exact vector tests of crates/scsp-profiles/tests
  (`hex(concat!(…))` blocks), each behind a 4-byte key and its length byte (the layout the
  targets read), plus the JSON records of docs/profiles.md;
- client_request / client_frame: the JSON messages of docs/client-protocol.md (bare, and framed
  with their 4-byte length);
- config: examples/*.conf and crates/scspd/tests/data/*.conf.

Files are named by the SHA-1 of their content, as libFuzzer names its own; existing files are kept.
Usage: scripts/fuzz-seeds.py [ROOT]   (ROOT: the repository, default: the parent of scripts/)
"""

import hashlib
import json
import pathlib
import re
import struct
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
CORPUS = ROOT / "fuzz" / "corpus"


def put(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def unhex(text):
    digits = "".join(l.split("#")[0] for l in text.splitlines())
    digits = "".join(digits.split())
    try:
        return bytes.fromhex(digits)
    except ValueError:
        return None


def wire_vectors():
    src = (ROOT / "crates/scsp-core/tests/wire_vectors.rs").read_text()
    for m in re.finditer(r'const [A-Z0-9_]+: &str = "(.*?)";', src, re.S):
        b = unhex(m.group(1))
        if b:
            yield b


def concat_vectors(path):
    src = path.read_text()
    for m in re.finditer(r"hex\(concat!\((.*?)\)\)", src, re.S):
        parts = re.findall(r'"([^"]*)"', m.group(1))
        b = unhex("".join(parts))
        if b:
            yield b


def json_lines(path):
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                json.loads(line)
            except ValueError:
                continue
            yield line.encode()


def main():
    n = 0
    for b in wire_vectors():
        for t in ("decode", "decode_then_encode", "verify_auth"):
            put(t, b)
        n += 1
    key = b"\x0a\x00\x00\x01"
    for name, target in (("nhrp", "profile_nhrp"), ("mars", "profile_mars"), ("atmarp", "profile_atmarp")):
        for f in sorted((ROOT / "crates/scsp-profiles/tests").glob(name + "_*.rs")):
            for b in concat_vectors(f):
                put(target, bytes([len(key)]) + key + b)
                n += 1
    for line in json_lines(ROOT / "docs/profiles.md"):
        for t in ("profile_atmarp", "profile_nhrp", "profile_mars", "profile_generic"):
            put(t, b"\x00" + line)
        n += 1
    put("profile_generic", b"\x04" + key + b"hello")
    for line in json_lines(ROOT / "docs/client-protocol.md"):
        put("client_request", line)
        put("client_frame", struct.pack(">I", len(line)) + line)
        n += 1
    for f in sorted((ROOT / "examples").glob("*.conf")) + sorted((ROOT / "crates/scspd/tests/data").glob("*.conf")):
        put("config", f.read_bytes())
        n += 1
    # The reconciliation extension's messages: the hex of docs/reconciliation.md's test vectors.
    for row in re.findall(r"^\|[^|]*\| `([0-9a-f ]+)`(?: then twice `([0-9a-f ]+)`)? \|$",
                          (ROOT / "docs/reconciliation.md").read_text(), re.M):
        b = unhex(row[0] + row[1] * 2)
        if b:
            put("recon_message", b)
            n += 1
    print(f"fuzz-seeds: {n} seeds under {CORPUS}")


main()
