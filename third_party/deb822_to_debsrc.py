"""Prints one-line deb-src entries for the deb entries of deb822 .sources files."""
import sys


def stanzas(text):
    block = {}
    for line in text.splitlines():
        if not line.strip():
            if block:
                yield block
            block = {}
            continue
        if line.startswith("#") or line.startswith(" "):
            continue
        key, _, value = line.partition(":")
        block[key.strip().lower()] = value.strip()
    if block:
        yield block


for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for s in stanzas(f.read()):
            if "deb" not in s.get("types", "").split() or s.get("enabled", "yes") == "no":
                continue
            signed = s.get("signed-by")
            opts = f"[signed-by={signed}] " if signed else ""
            for uri in s.get("uris", "").split():
                for suite in s.get("suites", "").split():
                    print(f"deb-src {opts}{uri} {suite} {s.get('components', '')}")
