//! [`SegmentMuxer`]: recording by remux (no re-encode) into MP4 segments.

use std::path::{Path, PathBuf};

use ffmpeg::{Rational, Rescale};
use ffmpeg_next as ffmpeg;
use vigie_core::{EncodedFrame, Error, ErrorKind, Result, StreamParams, Time90k, VideoCodec, bail};

const TB_90K: Rational = Rational(1, 90_000);

/// A decode timestamp that goes back (or repeats) by less than this is pushed one tick past the previous one;
/// further back, [`SegmentMuxer::write`] refuses the frame (the source restarted: start a new segment).
const MAX_DTS_FIXUP: i64 = 90_000;

/// Duration of the last frame when no other frame tells it and the source states no frame rate.
const DEFAULT_FRAME_DURATION: i64 = 3_600; // 1/25 s

fn mktag(t: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*t)
}

/// What a finished segment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub frames: u64,
    /// Size of the file on disk.
    pub bytes: u64,
    /// From the first frame's presentation to the end of the last frame's.
    pub duration_90k: Time90k,
    /// The first frame's pts on the source's timeline (the segment's own timeline starts at 0 there).
    pub first_pts: Time90k,
}

/// Writes one MP4 segment from encoded frames, samples copied byte for byte.
///
/// # Format
///
/// A plain (non-fragmented) MP4 from libavformat's `mp4` muxer: `ftyp`, one growing `mdat`, and the `moov` (sample
/// tables) written by [`SegmentMuxer::finish`] at the end. Codec tag `avc1`/`hvc1` with the stream's `avcC`/`hvcC`
/// record, track time scale 90 kHz, timestamps relative to the segment's first frame (pts 0; an edit list covers
/// B-frame delay).
///
/// Why not fragmented MP4: the recorder's durability rule (write and fsync the file, fsync the directory, then
/// insert the row) already means a segment cut by a crash has no row and is discarded at start-up, so keeping
/// it playable would buy nothing; and a cut plain MP4 is unambiguous: it has no `moov`, so libavformat (and
/// [`crate::VideoFile::open`], ffprobe) refuse it ("moov atom not found"), while a cut fragmented file still opens
/// and plays to its last whole fragment, which a start-up check could take for a good segment. A plain MP4 also
/// carries exact sample tables (frame count, duration, key frames) that `vigie check` and seeking use directly.
/// `faststart` is not used: it rewrites the whole file at the end.
///
/// # Errors
///
/// A write error (disk full, I/O) is [`ErrorKind::Io`] and leaves the muxer failed: later calls return an error
/// and the file is partial; the caller discards it and starts a new segment. Dropping a muxer without
/// [`SegmentMuxer::finish`] also leaves a partial file without `moov` (just as a crash would).
pub struct SegmentMuxer {
    path: PathBuf,
    output: Option<ffmpeg::format::context::Output>,
    params: StreamParams,
    /// The stream's time base after the header was written (90 kHz unless the muxer changed it).
    time_base: Rational,
    /// The first frame's pts: the segment's timeline origin.
    first_pts: Option<Time90k>,
    /// The last frame accepted, not yet written: its duration is only known from the next frame's dts.
    pending: Option<Pending>,
    last_duration: Option<i64>,
    /// The end of the latest-ending frame written, relative.
    end: i64,
    frames: u64,
    dts_fixups: u64,
    failed: bool,
}

struct Pending {
    packet: ffmpeg::Packet,
    pts: i64,
    dts: i64,
}

impl SegmentMuxer {
    /// Creates the file (which must not exist yet) and writes the MP4 header.
    ///
    /// Errors: [`ErrorKind::InvalidArgument`] if the file exists or the path is not UTF-8; [`ErrorKind::Io`] if
    /// it cannot be created; [`ErrorKind::InvalidData`] if the muxer refuses the parameters.
    pub fn create(path: &Path, params: &StreamParams) -> Result<SegmentMuxer> {
        crate::init();
        let shown = path.display();
        let Some(p) = path.to_str().filter(|s| !s.contains('\0')) else {
            bail!(
                InvalidArgument,
                "segment path {shown} is not valid UTF-8, which FFmpeg needs"
            );
        };
        if path.exists() {
            bail!(InvalidArgument, "segment {shown} already exists: not overwriting it");
        }
        if params.extradata.first() != Some(&1) {
            bail!(
                InvalidArgument,
                "segment {shown}: the stream parameters carry no {} decoder configuration record",
                params.codec.as_str()
            );
        }
        let mut output = ffmpeg::format::output_as(p, "mp4")
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating segment {shown}"), e))?;
        let (id, tag) = match params.codec {
            VideoCodec::H264 => (ffmpeg::ffi::AVCodecID::AV_CODEC_ID_H264, mktag(b"avc1")),
            VideoCodec::H265 => (ffmpeg::ffi::AVCodecID::AV_CODEC_ID_HEVC, mktag(b"hvc1")),
        };
        // SAFETY: `output` is a valid output context; the new stream's codecpar is owned by it, and its extradata
        // is allocated with av_mallocz (padded and zeroed) as libavformat requires, which frees it.
        unsafe {
            let st = ffmpeg::ffi::avformat_new_stream(output.as_mut_ptr(), std::ptr::null());
            if st.is_null() {
                bail!(Internal, "segment {shown}: cannot allocate the video stream");
            }
            (*st).time_base = TB_90K.into();
            let par = (*st).codecpar;
            (*par).codec_type = ffmpeg::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
            (*par).codec_id = id;
            (*par).codec_tag = tag;
            (*par).width = i32::try_from(params.width).unwrap_or(0);
            (*par).height = i32::try_from(params.height).unwrap_or(0);
            set_extradata(&mut (*par).extradata, &mut (*par).extradata_size, &params.extradata)
                .map_err(|()| Error::new(ErrorKind::Internal, "cannot allocate extradata"))?;
        }
        output.write_header().map_err(|e| {
            Error::wrap(
                ErrorKind::InvalidData,
                format!("segment {shown}: the MP4 muxer refused the stream"),
                e,
            )
        })?;
        let time_base = output
            .stream(0)
            .map(|s| s.time_base())
            .filter(|tb| tb.numerator() > 0 && tb.denominator() > 0)
            .unwrap_or(TB_90K);
        Ok(SegmentMuxer {
            path: path.to_path_buf(),
            output: Some(output),
            params: params.clone(),
            time_base,
            first_pts: None,
            pending: None,
            last_duration: None,
            end: 0,
            frames: 0,
            dts_fixups: 0,
            failed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a frame. The first one must be a key frame; every one must carry the parameters the segment was
    /// created with (compared by value: a change starts a new segment). Timestamps are made relative to the
    /// first frame's pts. A dts that does not increase is pushed one tick past the previous one if it is less
    /// than a second behind (counted in [`SegmentMuxer::dts_fixups`]), and refused as
    /// [`ErrorKind::InvalidData`] further back; pts is raised to dts if below it.
    ///
    /// The frame is written when the next one arrives (its duration is the difference of decode times), or by
    /// [`SegmentMuxer::finish`].
    pub fn write(&mut self, frame: &EncodedFrame) -> Result<()> {
        self.check_usable()?;
        if *frame.params != self.params {
            bail!(
                InvalidArgument,
                "segment {}: the stream parameters changed; start a new segment",
                self.path.display()
            );
        }
        let first = match self.first_pts {
            Some(f) => f,
            None if frame.is_key => *self.first_pts.insert(frame.pts),
            None => bail!(
                InvalidArgument,
                "segment {}: the first frame of a segment must be a key frame",
                self.path.display()
            ),
        };
        let mut dts = frame.dts.0 - first.0;
        let mut pts = frame.pts.0 - first.0;
        if let Some(prev) = &self.pending
            && dts <= prev.dts
        {
            let back = prev.dts - dts;
            if back >= MAX_DTS_FIXUP {
                bail!(
                    InvalidData,
                    "segment {}: dts went back {:.3} s (from {} to {}); start a new segment",
                    self.path.display(),
                    back as f64 / 90_000.0,
                    prev.dts + first.0,
                    frame.dts.0
                );
            }
            dts = prev.dts + 1;
            self.dts_fixups += 1;
        }
        pts = pts.max(dts);

        let mut packet = ffmpeg::Packet::copy(&frame.data);
        packet.set_stream(0);
        if frame.is_key {
            packet.set_flags(ffmpeg::packet::Flags::KEY);
        }
        if let Some(prev) = self.pending.take() {
            let duration = dts - prev.dts;
            self.write_packet(prev, duration)?;
        }
        self.pending = Some(Pending { packet, pts, dts });
        self.frames += 1;
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed || self.output.is_none() {
            bail!(
                InvalidArgument,
                "segment {}: an earlier write failed; discard this segment",
                self.path.display()
            );
        }
        Ok(())
    }

    fn write_packet(&mut self, p: Pending, duration: i64) -> Result<()> {
        let Pending { mut packet, pts, dts } = p;
        let tb = self.time_base;
        packet.set_pts(Some(pts.rescale(TB_90K, tb)));
        packet.set_dts(Some(dts.rescale(TB_90K, tb)));
        packet.set_duration(duration.rescale(TB_90K, tb));
        self.last_duration = Some(duration);
        self.end = self.end.max(pts + duration);
        let Some(output) = self.output.as_mut() else {
            bail!(Internal, "segment {}: muxer already closed", self.path.display());
        };
        packet.write(output).map(|_| ()).map_err(|e| {
            self.failed = true;
            Error::wrap(ErrorKind::Io, format!("writing segment {}", self.path.display()), e)
        })
    }

    /// The duration the last frame gets: the previous frame's, else one nominal frame.
    fn last_frame_duration(&self) -> i64 {
        self.last_duration.filter(|&d| d > 0).unwrap_or_else(|| {
            self.params
                .nominal_fps
                .filter(|&f| f > 0.0)
                .map_or(DEFAULT_FRAME_DURATION, |f| Time90k::from_secs_f64(1.0 / f).0.max(1))
        })
    }

    /// Bytes in the file so far (including what libavformat still buffers and the frame held back), without the
    /// `moov` that [`SegmentMuxer::finish`] adds.
    pub fn bytes_written(&self) -> u64 {
        let pending = self.pending.as_ref().map_or(0, |p| p.packet.size() as u64);
        let written = self.output.as_ref().map_or(0, |o| {
            // SAFETY: the output context and its AVIOContext are valid while `output` lives; seeking by 0 from
            // the current position only reads the position.
            unsafe {
                let pb = (*o.as_ptr()).pb;
                if pb.is_null() {
                    0
                } else {
                    ffmpeg::ffi::avio_seek(pb, 0, SEEK_CUR).max(0) as u64
                }
            }
        });
        written + pending
    }

    /// Frames accepted so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Decode timestamps pushed on so far (see [`SegmentMuxer::write`]).
    pub fn dts_fixups(&self) -> u64 {
        self.dts_fixups
    }

    /// Duration so far, counting the frame held back with the duration it will get if it is the last.
    pub fn duration_90k(&self) -> Time90k {
        let pending = self.pending.as_ref().map_or(0, |p| p.pts + self.last_frame_duration());
        Time90k(self.end.max(pending))
    }

    /// Writes the last frame and the `moov`, flushes, closes and fsyncs the file. Fsyncing the directory and
    /// recording the segment are the caller's. A segment without frames is an [`ErrorKind::InvalidArgument`]
    /// error (the caller deletes the file).
    pub fn finish(mut self) -> Result<SegmentInfo> {
        self.check_usable()?;
        let shown = self.path.display().to_string();
        let Some(first_pts) = self.first_pts else {
            bail!(InvalidArgument, "segment {shown} has no frames");
        };
        if let Some(last) = self.pending.take() {
            let d = self.last_frame_duration();
            self.write_packet(last, d)?;
        }
        let duration = Time90k(self.end);
        let Some(mut output) = self.output.take() else {
            bail!(Internal, "segment {shown}: muxer already closed");
        };
        output
            .write_trailer()
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("finishing segment {shown}"), e))?;
        // SAFETY: as in bytes_written; avio_flush then reading the sticky error field.
        let io_error = unsafe {
            let pb = (*output.as_ptr()).pb;
            if pb.is_null() {
                0
            } else {
                ffmpeg::ffi::avio_flush(pb);
                (*pb).error
            }
        };
        drop(output); // closes the file
        if io_error < 0 {
            return Err(Error::wrap(
                ErrorKind::Io,
                format!("finishing segment {shown}"),
                ffmpeg::Error::from(io_error),
            ));
        }
        let file = std::fs::File::open(&self.path)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("reopening segment {shown} to sync it"), e))?;
        file.sync_all()
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("syncing segment {shown}"), e))?;
        let bytes = file
            .metadata()
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("reading segment {shown}"), e))?
            .len();
        Ok(SegmentInfo {
            frames: self.frames,
            bytes,
            duration_90k: duration,
            first_pts,
        })
    }
}

/// `SEEK_CUR` from `<stdio.h>` (1 on every platform FFmpeg supports).
const SEEK_CUR: i32 = 1;

/// Replaces `*ptr`/`*size` (owned by FFmpeg, which frees them) with a padded copy of `data`.
///
/// # Safety
/// `ptr` and `size` must be the extradata fields of one live `AVCodecParameters` or `AVCodecContext`.
pub(crate) unsafe fn set_extradata(ptr: &mut *mut u8, size: &mut i32, data: &[u8]) -> std::result::Result<(), ()> {
    let len = i32::try_from(data.len()).map_err(|_| ())?;
    // SAFETY: per the contract; av_freep accepts a pointer to a null pointer, av_mallocz returns zeroed memory.
    unsafe {
        ffmpeg::ffi::av_freep(ptr as *mut *mut u8 as *mut std::ffi::c_void);
        *size = 0;
        let buf = ffmpeg::ffi::av_mallocz(data.len() + ffmpeg::ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize) as *mut u8;
        if buf.is_null() {
            return Err(());
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        *ptr = buf;
        *size = len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn segment_muxer_is_send() {
        fn send<T: Send>() {}
        send::<super::SegmentMuxer>();
    }
}
