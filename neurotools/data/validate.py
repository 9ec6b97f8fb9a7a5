"""Checks that a path is a readable NWB 2 file, each failure as one clear sentence."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np

from neurotools.errors import UserError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Offsets where HDF5 allows the superblock (after an optional user block).
_SIGNATURE_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (memory stays flat for any size)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()


#: Files larger than this get a sampled identity instead of a full SHA-256 (see file_identity).
FULL_HASH_MAX_BYTES = 256 << 20
#: Blocks (bytes each) hashed from a large file, evenly spaced, plus its first and last MiB.
SAMPLED_BLOCKS, SAMPLED_BLOCK_BYTES = 256, 64 << 10


def file_identity(path: str | os.PathLike) -> str:
    """The identity recorded for an input file (the ``sha256`` of results and recipes).

    The full SHA-256 of the bytes for files up to :data:`FULL_HASH_MAX_BYTES` (256 MiB; override with
    ``$NEUROTOOLS_FULL_HASH_MAX_MB``). A larger file gets ``"sampled-sha256:<hex>"``: the SHA-256 of
    its size, its first and last MiB and 256 blocks of 64 KiB evenly spaced in between (about
    18 MB read), so analysing a subset of a large file does not read all of it. Any change of size,
    of the HDF5 metadata at either end or of a sampled block changes it; an edit elsewhere in the
    data may not.
    """
    p = Path(path)
    size = p.stat().st_size
    env = os.environ.get("NEUROTOOLS_FULL_HASH_MAX_MB", "").strip()
    limit = int(float(env) * (1 << 20)) if env else FULL_HASH_MAX_BYTES
    if size <= limit:
        return sha256_file(p)
    h = hashlib.sha256(f"size={size}".encode())
    edge = 1 << 20
    offsets = [0, *(int(x) for x in np.linspace(edge, size - edge - SAMPLED_BLOCK_BYTES, SAMPLED_BLOCKS)),
               size - edge]
    with open(p, "rb") as fh:
        for off in offsets:
            fh.seek(max(0, off))
            h.update(fh.read(edge if off in (0, size - edge) else SAMPLED_BLOCK_BYTES))
    return "sampled-sha256:" + h.hexdigest()


def _has_hdf5_signature(path: Path) -> bool:
    with open(path, "rb") as fh:
        for off in _SIGNATURE_OFFSETS:
            fh.seek(off)
            if fh.read(8) == HDF5_SIGNATURE:
                return True
    return False


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_nwb_file(path: str | os.PathLike) -> str:
    """Check that ``path`` is an NWB 2.x HDF5 file and return its NWB version string.

    Raises
    ------
    UserError
        With one sentence for: a missing path, a directory, an empty file, a text/CSV file,
        a non-HDF5 file, a truncated or damaged HDF5 file, HDF5 that is not NWB, and NWB 1.x.
    """
    p = Path(path)
    name = p.name
    if not p.exists():
        raise UserError(f"{path} does not exist; check the path.")
    if p.is_dir():
        raise UserError(f"{path} is a folder, not an NWB file; give the path of a .nwb file.")
    if p.stat().st_size == 0:
        raise UserError(f"{name} is empty (0 bytes); give the complete .nwb file.")
    if not _has_hdf5_signature(p):
        if _looks_like_text(p):
            raise UserError(
                f"{name} is a text file (such as CSV), not an NWB file; NWB files are HDF5 - "
                "give the .nwb file itself."
            )
        raise UserError(
            f"{name} is not an HDF5 file, so it cannot be NWB; check that you picked the "
            "right file and that it was not damaged in transfer."
        )
    try:
        with h5py.File(p, "r") as f:
            version = f.attrs.get("nwb_version")
            if version is None and "nwb_version" in f:
                version = f["nwb_version"][()]  # NWB 1.x stores a dataset
            if isinstance(version, bytes):
                version = version.decode()
            if isinstance(version, (list, tuple)) or getattr(version, "shape", ()) != ():
                version = str(version[0]) if len(version) else None
    except OSError as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "damaged"
        raise UserError(
            f"{name} is an HDF5 file that cannot be opened (it looks {reason}); "
            "copy or download it again in full."
        ) from None
    if version is None:
        raise UserError(
            f"{name} is an HDF5 file but not an NWB file (it has no nwb_version attribute); "
            "convert the data to NWB first, e.g. with NeuroConv."
        )
    version = str(version)
    if version.startswith("NWB-1") or version.startswith("1."):
        raise UserError(
            f"{name} is an NWB 1.x file (version {version}); neurotools reads NWB 2.x - "
            "convert it to NWB 2 first."
        )
    return version


#: A dataset may declare at most this many times the file's size (compressed fill values aside,
#: real data never inflate that much); beyond it the shape is a lie and reading it would hang or
#: exhaust memory.
MAX_INFLATION = 1000
#: ... and never less than this many bytes (small files may hold well-compressed arrays).
MIN_DECLARED_LIMIT = 1 << 30


def check_declared_sizes(f: h5py.File, name: str) -> None:
    """Refuse a file whose datasets declare far more data than the file can hold.

    Parameters
    ----------
    f : h5py.File
        The open file.
    name : str
        Its name, for the message.

    Raises
    ------
    UserError
        When one dataset (cached schemas aside) declares more than ``MAX_INFLATION`` times the
        file's size in bytes (and more than ``MIN_DECLARED_LIMIT``).
    """
    try:
        size = int(f.id.get_filesize())
    except (OSError, ValueError, AttributeError):
        return
    limit = max(MAX_INFLATION * size, MIN_DECLARED_LIMIT)
    found: list[tuple[str, tuple[int, ...], int]] = []

    def visit(path: str, obj: object) -> None:
        if found or path.startswith("specifications") or not isinstance(obj, h5py.Dataset):
            return
        shape = obj.shape or ()
        declared = int(np.prod(shape, dtype=object)) * obj.dtype.itemsize
        if declared > limit:
            found.append((path, shape, declared))

    f.visititems(visit)
    if found:
        path, shape, declared = found[0]
        raise UserError(
            f"{name} is damaged: its dataset /{path} declares shape {shape} ({declared / 1e9:,.0f} GB) "
            f"in a {size / 1e6:,.1f} MB file; copy or download the file again in full."
        )
