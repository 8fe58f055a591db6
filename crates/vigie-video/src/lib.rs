//! Vigie video input: FFmpeg demux and decode of files, frame sampling at the analysis rate.
