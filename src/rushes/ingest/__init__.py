"""Ingest: from camera media on disk to the catalog."""

from rushes.ingest.run import IngestReport, ingest, regroup_setups
from rushes.ingest.scan import ScanResult, Source, scan

__all__ = ["IngestReport", "ScanResult", "Source", "ingest", "regroup_setups", "scan"]
