"""Ingest: from camera media on disk to the catalog."""

from rushes.ingest.run import IngestReport, ingest
from rushes.ingest.scan import ScanResult, Source, scan
from rushes.ingest.setups import regroup_setups

__all__ = ["IngestReport", "ScanResult", "Source", "ingest", "regroup_setups", "scan"]
