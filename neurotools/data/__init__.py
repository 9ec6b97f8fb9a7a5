"""Recording model, NWB reading and writing, binning, simulators."""

from neurotools.data.nwb_reader import open_h5, open_nwb, read_nwb, summarize
from neurotools.data.nwb_writer import write_nwb
from neurotools.data.recording import (
    BehaviorSeries,
    IntervalTable,
    Recording,
    SourceFile,
    TraceSeries,
)
from neurotools.data.validate import check_nwb_file, file_identity, sha256_file

__all__ = [
    "BehaviorSeries",
    "IntervalTable",
    "Recording",
    "SourceFile",
    "TraceSeries",
    "check_nwb_file",
    "open_h5",
    "open_nwb",
    "read_nwb",
    "file_identity",
    "sha256_file",
    "summarize",
    "write_nwb",
]
