# Builds PyPI-shaped wheels from distributions installed in this python's own site-packages:
# each wheel holds the files its dist-info RECORD lists (bytecode left out, as in a real wheel),
# with METADATA, WHEEL and a RECORD of sha256 urlsafe-base64 hashes rewritten for what it holds.
# Reads a JSON request on stdin: {"out": DIR, "count": N, "maxBytes": B}; prints one JSON line
# per wheel: {"name", "version", "filename", "bytes", "sha256", "metadataSha256", "requiresPython"}.
import base64
import hashlib
import json
import os
import re
import site
import sys
import zipfile


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def distributions():
    seen = set()
    for root in site.getsitepackages():
        if not os.path.isdir(root):
            continue
        for entry in sorted(os.listdir(root)):
            match = re.fullmatch(r"(.+)-([^-]+)\.dist-info", entry)
            if not match or match.group(1).lower() in seen:
                continue
            seen.add(match.group(1).lower())
            yield root, entry, match.group(1), match.group(2)


def wheel_files(root, info):
    with open(os.path.join(root, info, "RECORD"), encoding="utf-8") as f:
        for line in f:
            path = line.rsplit(",", 2)[0].strip().strip('"')
            if not path or path.startswith("..") or os.path.isabs(path):
                continue
            if path.endswith(".pyc") or "__pycache__" in path:
                continue
            if path.startswith(info + "/") and os.path.basename(path) in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            full = os.path.join(root, path)
            if os.path.isfile(full):
                yield path, full


def main():
    request = json.load(sys.stdin)
    made = 0
    for root, info, name, version in distributions():
        if made >= request["count"]:
            break
        if not os.path.isfile(os.path.join(root, info, "RECORD")):
            continue
        files = list(wheel_files(root, info))
        if sum(os.path.getsize(full) for _, full in files) > request["maxBytes"] * 3:
            continue
        tag = "py3-none-any" if not any(p.endswith(".so") for p, _ in files) else "cp311-cp311-manylinux_2_17_x86_64"
        filename = f"{name}-{version}-{tag}.whl"
        out = os.path.join(request["out"], filename)
        records = []
        metadata = b""
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for path, full in files:
                with open(full, "rb") as f:
                    data = f.read()
                if path == f"{info}/METADATA":
                    metadata = data
                if path == f"{info}/WHEEL":
                    data = f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: {'true' if tag.startswith('py3') else 'false'}\nTag: {tag}\n".encode()
                z.writestr(path, data)
                records.append(f"{path},{record_hash(data)},{len(data)}")
            if f"{info}/WHEEL" not in (p for p, _ in files):
                data = f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
                z.writestr(f"{info}/WHEEL", data)
                records.append(f"{info}/WHEEL,{record_hash(data)},{len(data)}")
            records.append(f"{info}/RECORD,,")
            z.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
        size = os.path.getsize(out)
        if size > request["maxBytes"] or not metadata:
            os.remove(out)
            continue
        with open(out, "rb") as f:
            wheel_sha = hashlib.sha256(f.read()).hexdigest()
        requires = re.search(rb"^Requires-Python: *(.+)$", metadata, re.M)
        print(json.dumps({
            "name": name,
            "version": version,
            "filename": filename,
            "bytes": size,
            "sha256": wheel_sha,
            "metadataSha256": hashlib.sha256(metadata).hexdigest(),
            "requiresPython": requires.group(1).decode().strip() if requires else None,
        }))
        made += 1


main()
