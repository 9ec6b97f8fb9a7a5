"""The identity recorded for input files: full SHA-256, sampled for large files."""

from __future__ import annotations

import shutil

from neurotools.data import file_identity, read_nwb, sha256_file


def test_small_files_get_their_full_sha256(nwb_dir):
    path = nwb_dir / "pynapple_A8604-211122.nwb"
    assert file_identity(path) == sha256_file(path)
    assert read_nwb(path).source.sha256 == sha256_file(path)


def test_large_files_get_a_sampled_identity_that_reads_only_part(nwb_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROTOOLS_FULL_HASH_MAX_MB", "1")  # 2 MB counts as large here
    src = nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb"
    a, b = tmp_path / "a.nwb", tmp_path / "b.nwb"
    shutil.copy(src, a)
    shutil.copy(src, b)
    ident = file_identity(a)
    assert ident.startswith("sampled-sha256:") and ident == file_identity(b)
    assert ident != "sampled-sha256:" + sha256_file(a)
    with open(b, "r+b") as fh:  # a byte in the file's last MiB (HDF5 metadata lives at the ends)
        fh.seek(-100, 2)
        last = fh.read(1)
        fh.seek(-100, 2)
        fh.write(bytes([last[0] ^ 0xFF]))
    assert file_identity(b) != ident
    with open(a, "ab") as fh:  # a different size
        fh.write(b"\0")
    assert file_identity(a) != ident
    assert read_nwb(src).source.sha256 == file_identity(src)
