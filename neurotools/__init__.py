"""neurotools: analyse NWB neural recordings in the browser and on the command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurotools")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
