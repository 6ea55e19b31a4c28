#!/usr/bin/python3
"""Builds the node tier's container images without a registry: OCI image-layout tarballs (one layer of
static binaries each) that `ctr -n k8s.io images import` takes, named as the pods and containerd's
sandbox_image setting refer to them.

    images.py OUT_DIR PAUSE_BINARY WORKLOAD_BINARY BUSYBOX_BINARY

Writes OUT_DIR/pause.tar (localhost/snug/pause:1, /pause) and OUT_DIR/workload.tar
(localhost/snug/workload:1: /workload, /bin/busybox and its applet links sh, sleep, cat). Reproducible:
fixed mtimes and owners, so the same inputs give the same image digests."""

import hashlib
import io
import json
import os
import sys
import tarfile

PAUSE = "localhost/snug/pause:1"
WORKLOAD = "localhost/snug/workload:1"
EPOCH = 0


def tar_bytes(entries):
    """entries: (path, bytes or None for a directory, mode, symlink target or None). An uncompressed
    layer: compression would only cost the guest's emulated CPU on import."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data, mode, link in entries:
            ti = tarfile.TarInfo(path)
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = EPOCH, 0, 0, "root", "root"
            ti.mode = mode
            if link is not None:
                ti.type, ti.linkname = tarfile.SYMTYPE, link
                t.addfile(ti)
            elif data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def blob(blobs, media_type, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def image(out, name, entries, entrypoint, cmd):
    layer = tar_bytes(entries)
    blobs = {}
    layer_desc = blob(blobs, "application/vnd.oci.image.layer.v1.tar", layer)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "Cmd": cmd, "WorkingDir": "/",
                   "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
        "history": [{"created_by": "tests/node/images.py"}],
    }
    config_desc = blob(blobs, "application/vnd.oci.image.config.v1+json",
                       json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(blobs, "application/vnd.oci.image.manifest.v1+json",
                         json.dumps(manifest, sort_keys=True).encode())
    manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    # ctr import names the image from io.containerd.image.name; ref.name is the OCI tag.
    manifest_desc["annotations"] = {"io.containerd.image.name": name,
                                    "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_desc]}
    files = [("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), 0o644, None),
             ("index.json", json.dumps(index, sort_keys=True).encode(), 0o644, None),
             ("blobs", None, 0o755, None), ("blobs/sha256", None, 0o755, None)]
    for digest, data in sorted(blobs.items()):
        files.append(("blobs/sha256/" + digest.split(":", 1)[1], data, 0o644, None))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(tar_bytes(files))
    os.replace(tmp, out)
    return manifest_desc["digest"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    out, pause, workload, busybox = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    d1 = image(os.path.join(out, "pause.tar"), PAUSE,
               [("pause", read(pause), 0o755, None)], ["/pause"], None)
    bb = read(busybox)
    entries = [("workload", read(workload), 0o755, None), ("bin", None, 0o755, None),
               ("bin/busybox", bb, 0o755, None), ("tmp", None, 0o1777, None)]
    for applet in ("sh", "sleep", "cat", "true"):
        entries.append(("bin/" + applet, None, 0o777, "busybox"))
    d2 = image(os.path.join(out, "workload.tar"), WORKLOAD, entries, ["/workload"], ["idle"])
    print("images: %s %s, %s %s" % (PAUSE, d1, WORKLOAD, d2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
