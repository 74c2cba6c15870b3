#!/usr/bin/env python3
"""Checks a signed log digest with the public key alone, outside this application.

    python3 verify-digest.py DIGEST.json PUBLIC-KEY.pem EXPORT.ndjson

DIGEST.json is what `npm run cli -- digest` wrote, PUBLIC-KEY.pem the operator's
digest-public-key.pem, EXPORT.ndjson what `npm run -s cli -- export --sealed` wrote (taken at or after the
digest). Needs only Python 3 and the openssl command (3.0 or later). Exit 0 when:
  1. the Ed25519 signature over the digest's "signed" bytes is valid for the public key;
  2. every exported event's hash, recomputed from its content, is the hash it carries, and
     each event's prevHash is the hash of its stream's previous event;
  3. the RFC 9162 Merkle tree hash of the first treeSize event hashes is the signed rootHash.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def canonical(value):
    # RFC 8785 for the values these events hold (strings, integers, decimals, booleans, null).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event):
    envelope = {k: event[k] for k in (
        "data", "eventId", "metadata", "prevHash", "recordedAt", "revision", "streamName", "type")}
    return hashlib.sha256(canonical(envelope).encode("utf-8")).hexdigest()


def tree_hash(leaves):
    # RFC 9162, 2.1.1: leaves are the 32-byte event hashes.
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + tree_hash(leaves[:k]) + tree_hash(leaves[k:])).digest()


def main(digest_file, public_key, export_file):
    with open(digest_file, encoding="utf-8") as f:
        digest = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        signed, signature = os.path.join(tmp, "signed"), os.path.join(tmp, "signature")
        with open(signed, "wb") as f:
            f.write(digest["signed"].encode("utf-8"))
        with open(signature, "wb") as f:
            import base64
            f.write(base64.b64decode(digest["signature"]))
        checked = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", public_key, "-rawin",
             "-in", signed, "-sigfile", signature], capture_output=True, text=True)
    if checked.returncode != 0:
        print("FAIL signature: not made by this key over these bytes")
        return 1
    statement = json.loads(digest["signed"])
    problems, leaves, heads = [], [], {}
    with open(export_file, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            where = f"{event['streamName']} revision {event['revision']}"
            if event_hash(event) != event["hash"]:
                problems.append(f"{where}: content does not match its hash")
            if event["prevHash"] != heads.get(event["streamName"]):
                problems.append(f"{where}: prevHash is not the previous event's hash")
            heads[event["streamName"]] = event["hash"]
            if event["position"] <= statement["position"]:
                leaves.append(bytes.fromhex(event_hash(event)))
    if len(leaves) != statement["treeSize"]:
        problems.append(f"the export has {len(leaves)} events up to position "
                        f"{statement['position']}, the digest covers {statement['treeSize']}")
    elif tree_hash(leaves).hex() != statement["rootHash"]:
        problems.append("the Merkle root of the exported events is not the signed root")
    for problem in problems:
        print("FAIL", problem)
    if not problems:
        print(f"OK: signature valid; the export extends the digest "
              f"({statement['treeSize']} events, root {statement['rootHash']})")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    sys.setrecursionlimit(10000)
    sys.exit(main(*sys.argv[1:]))
