"""Editorial: colour continuity across shots, the editor's cut in (EDL, FCP7 XML, FCPXML, OTIO,
AAF through OpenTimelineIO), VFX pulls, and approved fixes out as timelines and bins."""
