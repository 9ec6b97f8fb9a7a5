"""Read NWB files over HTTP(S) without downloading them (DANDI streaming), through remfile.

Accepted addresses: any ``http://`` or ``https://`` URL of an NWB file on a server that answers
HTTP Range requests (S3, DANDI, most web servers), including redirects. DANDI asset URLs are
accepted in both API forms and read through their download address:

- ``https://api.dandiarchive.org/api/assets/<asset id>/download/`` (what "copy download link" gives);
- ``https://api.dandiarchive.org/api/assets/<asset id>/`` and
  ``https://api.dandiarchive.org/api/dandisets/<id>/versions/<version>/assets/<asset id>/``
  (the asset's metadata URL; ``download/`` is appended).

A remote file cannot be hashed without downloading it, so its identity (stored where a local
file's sha256 goes) is the sha256 of ``url + "\\n" + size + "\\n" + ETag`` (``Last-Modified`` when
the server sends no ETag): it changes when the file's content is replaced, as far as the server
says. See :func:`remote_identity`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import h5py

from neurotools.errors import UserError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SIGNATURE_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)
#: Seconds to wait for a server before giving up.
TIMEOUT_S = 20.0
#: Most bytes of a remote file kept in memory by remfile's chunk cache (its default is 1 GB).
CACHE_BYTES = 64 << 20
_DANDI_ASSET = re.compile(
    r"^(https://api(?:-staging)?\.dandiarchive\.org/api/(?:dandisets/[^/]+/versions/[^/]+/)?"
    r"assets/[0-9a-fA-F-]{36})/?$"
)


def is_url(path: Any) -> bool:
    """Whether ``path`` is an ``http://`` or ``https://`` address (not a local path)."""
    return isinstance(path, str) and path.strip().lower().startswith(("http://", "https://"))


def normalize_url(url: str) -> str:
    """The address to read: DANDI asset metadata URLs become their ``download/`` URL."""
    url = url.strip()
    m = _DANDI_ASSET.match(url)
    return f"{m.group(1)}/download/" if m else url


def url_name(url: str) -> str:
    """A file name for a URL: its last path component (``asset-<id>.nwb`` for DANDI downloads)."""
    path = urlsplit(url).path.rstrip("/")
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[-1] == "download" and parts[-3:-2] == ["assets"]:
        return f"asset-{parts[-2]}.nwb"
    return unquote(parts[-1]) if parts else urlsplit(url).netloc


@dataclass(frozen=True)
class RemoteFile:
    """What a server says about a remote file.

    Attributes
    ----------
    url : str
        The address given (after :func:`normalize_url`).
    final_url : str
        Where redirects led (e.g. the S3 object of a DANDI asset).
    name : str
        File name shown to users.
    size : int
        Size in bytes.
    etag : str
        The ``ETag`` (or ``Last-Modified``) header, "" if neither was sent.
    """

    url: str
    final_url: str
    name: str
    size: int
    etag: str

    @property
    def identity(self) -> str:
        """:func:`remote_identity` of this file."""
        return remote_identity(self.url, self.size, self.etag)


def remote_identity(url: str, size: int, etag: str) -> str:
    """Hex sha256 of ``url``, ``size`` and ``etag`` joined by newlines: a remote file's identity."""
    return hashlib.sha256(f"{url}\n{int(size)}\n{etag}".encode()).hexdigest()


def probe(url: str) -> RemoteFile:
    """Ask the server for a file's size and version and check that it starts like HDF5.

    Reads at most the first 8 KiB.

    Raises
    ------
    UserError
        When the server cannot be reached, answers with an HTTP error, does not say the size, or
        the file is not HDF5.
    """
    import requests

    url = normalize_url(url)
    name = url_name(url)
    try:
        resp = requests.get(url, headers={"Range": "bytes=0-8199"}, stream=True, timeout=TIMEOUT_S,
                            allow_redirects=True)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise UserError(f"{url} cannot be reached ({reason}); check the address and the network.") from None
    try:
        if resp.status_code not in (200, 206):
            raise UserError(
                f"{url} answered HTTP {resp.status_code} {resp.reason}; check the address "
                "(and that the file is public)."
            )
        head = resp.raw.read(8200, decode_content=False) or b""
        size = _total_size(resp)
        etag = resp.headers.get("ETag") or resp.headers.get("Last-Modified") or ""
        final = resp.url
    except requests.RequestException as exc:
        raise UserError(f"{url} could not be read ({type(exc).__name__}); try again later.") from None
    finally:
        resp.close()
    if size is None:
        raise UserError(f"{url} does not report its size, so it cannot be streamed; download it instead.")
    if not any(head[o: o + 8] == HDF5_SIGNATURE for o in _SIGNATURE_OFFSETS):
        raise UserError(f"{name} at {url} is not an HDF5 file, so it cannot be NWB; check the address.")
    return RemoteFile(url=url, final_url=final, name=name, size=size, etag=etag.strip())


def _total_size(resp: Any) -> int | None:
    rng = resp.headers.get("Content-Range", "")
    if resp.status_code == 206 and "/" in rng:
        total = rng.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    length = resp.headers.get("Content-Length", "")
    return int(length) if resp.status_code == 200 and length.isdigit() else None


def open_remote(info: RemoteFile, **h5py_kwargs: Any) -> h5py.File:
    """Open a probed remote file read-only with h5py on a :class:`remfile.File` (Range reads).

    ``h5py_kwargs`` go to :class:`h5py.File` (e.g. ``rdcc_nbytes``).

    Raises
    ------
    UserError
        When remfile is missing or the bytes cannot be read as HDF5.
    """
    try:
        import remfile
    except ImportError:
        raise UserError("Reading NWB files from URLs needs the 'remfile' package; pip install remfile.") from None
    try:
        handle = remfile.File(info.url, _size=info.size, _max_cache_size=CACHE_BYTES)
        return h5py.File(handle, "r", **h5py_kwargs)
    except OSError:
        raise UserError(
            f"{info.name} at {info.url} cannot be opened as HDF5 (damaged, or the server ignores "
            "Range requests); download the file instead."
        ) from None


def nwb_version(f: h5py.File, name: str) -> str:
    """The NWB 2 version of an open file.

    Raises
    ------
    UserError
        When it has no ``nwb_version`` (not NWB) or is NWB 1.x.
    """
    version = f.attrs.get("nwb_version")
    if version is None and "nwb_version" in f:
        version = f["nwb_version"][()]
    if isinstance(version, bytes):
        version = version.decode()
    if version is not None and getattr(version, "shape", ()) != ():
        version = str(version.reshape(-1)[0]) if version.size else None
    if version is None:
        raise UserError(f"{name} is an HDF5 file but not an NWB file (it has no nwb_version attribute).")
    version = str(version)
    if version.startswith(("NWB-1", "1.")):
        raise UserError(f"{name} is an NWB 1.x file (version {version}); neurotools reads NWB 2.x.")
    return version
