"""Write a :class:`Recording` to a standard NWB 2 file (used by ``neurotools simulate``)."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import numpy as np

from neurotools.data.recording import Recording
from neurotools.errors import UserError


def write_nwb(recording: Recording, path: str | os.PathLike, *, identifier: str | None = None) -> Path:
    """Write spikes (Units), traces (RoiResponseSeries), behaviour, intervals and ground truth.

    Parameters
    ----------
    recording : Recording
        What to write. Spike trains go to ``/units``; each trace series to
        ``processing/ophys/DfOverF`` (kind ``dff``) or ``Fluorescence``; behaviour to
        ``processing/behavior``; interval tables to ``/intervals`` (``trials`` as the trials
        table); ``ground_truth`` arrays to scratch space.
    path : str or PathLike
        Output file; written to a temporary name and renamed when complete.
    identifier : str, optional
        NWB identifier (default: a new UUID).

    Returns
    -------
    Path
    """
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBFile, TimeSeries
    from pynwb.behavior import BehavioralTimeSeries
    from pynwb.core import ScratchData
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserError(f"The folder {path.parent} does not exist; create it or choose another --out.")
    nwb = NWBFile(
        session_description=recording.session_description or "neurotools simulation",
        identifier=identifier or str(uuid4()),
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id=recording.subject.get("subject_id", "sim"),
                        species=recording.subject.get("species", "Mus musculus"),
                        sex=recording.subject.get("sex", "U"), age="P90D"),
    )
    if recording.spike_times is not None:
        nwb.units = _units_table(recording, H5DataIO)

    if recording.traces:
        ophys = nwb.create_processing_module("ophys", "Calcium imaging traces")
        device = nwb.create_device("Microscope", description="simulated")
        plane = nwb.create_imaging_plane(
            name="ImagingPlane", optical_channel=OpticalChannel("green", "green", 525.0),
            description="simulated plane", device=device, excitation_lambda=920.0,
            indicator="GCaMP6s", location="simulated",
        )
        seg = ImageSegmentation()
        ophys.add(seg)
        for k, tr in enumerate(recording.traces):
            ps = seg.create_plane_segmentation(f"ROIs of {tr.path or k}", plane, f"PlaneSegmentation{k}")
            ps.add_column("label", "neuron label")
            for c in range(tr.n_channels):
                mask = np.zeros((4, 4), dtype=bool)
                mask[c % 4, (c // 4) % 4] = True
                label = tr.channel_labels[c] if tr.channel_labels else str(c)
                ps.add_roi(image_mask=mask, label=label)
            region = ps.create_roi_table_region("all ROIs", region=list(range(tr.n_channels)))
            container = DfOverF(name="DfOverF") if tr.kind == "dff" else Fluorescence(name="Fluorescence")
            ts = np.asarray(tr.timestamps, float)
            regular = len(ts) > 1 and np.allclose(np.diff(ts), ts[1] - ts[0])
            timing = dict(rate=float(1 / (ts[1] - ts[0])), starting_time=float(ts[0])) if regular else dict(timestamps=ts)
            container.create_roi_response_series(
                name="RoiResponseSeries", data=H5DataIO(np.asarray(tr.data, np.float32), compression="gzip"), rois=region,
                unit=tr.unit or "a.u.", **timing,
            )
            ophys.add(container)

    if recording.behavior:
        beh = nwb.create_processing_module("behavior", "Behavioural signals")
        bts = BehavioralTimeSeries(name="BehavioralTimeSeries")
        for b in recording.behavior:
            bts.add_timeseries(TimeSeries(name=b.name, data=np.asarray(b.data, float),
                                          timestamps=np.asarray(b.timestamps, float),
                                          unit=b.unit or "a.u."))
        beh.add(bts)

    for name, tab in recording.intervals.items():
        if name == "trials":
            for col in tab.columns:
                nwb.add_trial_column(col, f"{col} of each trial")
            for i in range(tab.n_rows):
                nwb.add_trial(start_time=float(tab.start[i]), stop_time=float(tab.stop[i]),
                              **{c: v[i] for c, v in tab.columns.items()})
        else:
            ti = TimeIntervals(name=name, description=f"{name} intervals")
            for col in tab.columns:
                ti.add_column(col, f"{col} of each interval")
            for i in range(tab.n_rows):
                ti.add_interval(start_time=float(tab.start[i]), stop_time=float(tab.stop[i]),
                                **{c: v[i] for c, v in tab.columns.items()})
            nwb.add_time_intervals(ti)

    for key, arr in recording.ground_truth.items():
        arr = np.asarray(arr)
        data = H5DataIO(arr, compression="gzip") if arr.size > 1000 and arr.dtype.kind in "biuf" else arr
        nwb.add_scratch(ScratchData(name=key, data=data,
                                    description=f"ground truth: {key}"))

    return save_nwbfile(nwb, path)


def save_nwbfile(nwbfile: object, path: str | os.PathLike) -> Path:
    """Write a pynwb ``NWBFile`` to ``path`` atomically (a temporary name renamed when complete).

    An interrupted write never leaves a file at ``path`` that looks finished.
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(tmp), "w") as io:
                io.write(nwbfile)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _units_table(recording: Recording, H5DataIO: type) -> object:
    """A Units table built from arrays (compressed spike times, one column per metadata field)."""
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb.misc import Units

    trains = [np.asarray(st, float) for st in recording.spike_times]
    flat = np.concatenate(trains) if trains else np.zeros(0)
    ends = np.cumsum([len(t) for t in trains]).astype(np.int64)
    times = VectorData(name="spike_times", description="spike times (s)",
                       data=H5DataIO(flat, compression="gzip", shuffle=True) if flat.size > 1000 else flat)
    columns = [times, VectorIndex(name="spike_times_index", target=times, data=ends)]
    names = ["spike_times"]
    for key, values in recording.unit_table.items():
        values = np.asarray(values)
        if key == "id" or values.ndim != 1 or len(values) != len(trains) or values.dtype == object:
            continue
        columns.append(VectorData(name=key, description=f"{key} of each unit", data=values))
        names.append(key)
    ids = np.asarray(recording.unit_table.get("id", np.arange(len(trains))))
    if len(ids) != len(trains) or ids.dtype.kind not in "iu":
        ids = np.arange(len(trains))
    return Units(name="units", id=ElementIdentifiers(name="id", data=ids), columns=columns,
                 colnames=names, description="spike-sorted units")
