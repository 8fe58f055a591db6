//! [`PacketReader`]: demux a file into [`EncodedFrame`]s without decoding (a file played as a camera).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ffmpeg::{Rational, Rescale, codec};
use ffmpeg_next as ffmpeg;
use vigie_core::{EncodedFrame, Error, ErrorKind, Result, StreamParams, Time90k, VideoCodec, bail, err};

use crate::file::{best_video_stream, is_eagain, open_input, rational_f64};
use crate::nal;

/// After this many demuxer errors in a row without a good packet in between, reading fails.
const MAX_CONSECUTIVE_DEMUX_ERRORS: u32 = 32;

const TB_90K: Rational = Rational(1, 90_000);

/// How the container stores samples, and so what [`PacketReader::next_frame`] does to each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SampleForm {
    /// AVCC/HVCC with 4-byte lengths (MP4 as cameras and encoders write it): passed through as is.
    Avcc,
    /// AVCC/HVCC with 1- or 2-byte lengths: widened to 4.
    AvccShort(usize),
    /// Annex-B start codes (MPEG-TS, raw `.h264`/`.h265`): converted to 4-byte lengths.
    AnnexB,
}

/// Reads the best video stream of a file as encoded frames, for files played as cameras and for tests.
///
/// - H.264 and H.265 only (what the recorder and the live decoder take); anything else is
///   [`ErrorKind::Unsupported`] naming the codec and the file.
/// - Frames come out in decode order with AVCC/HVCC samples (4-byte lengths) whatever the container: MP4 samples
///   pass through unchanged (byte for byte when the file uses 4-byte lengths, as nearly all do); Annex-B streams
///   (MPEG-TS, raw `.h264`/`.h265`) are converted, and their `avcC`/`hvcC` record is built from the parameter sets
///   (see `nal.rs`). All NAL units are kept, including in-band parameter sets and access unit delimiters.
/// - Timestamps are rescaled to 90 kHz (rounded) and offset so that the first frame's pts is 0; with B-frames the
///   first dts is negative. dts strictly increases (a repeat is pushed one tick on), and pts is never below dts.
/// - [`PacketReader::rewind`] starts the file again on the same timeline: the first frame of the next pass comes
///   right after the end of the last frame of this one, so a looped file reads as one endless camera stream.
/// - A file cut short reads to where it was cut and ends normally (unlike [`crate::VideoFile`], which checks
///   completeness); demuxer errors in the middle are skipped, and the next frame has `loss_before` set.
pub struct PacketReader {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream_index: usize,
    time_base: Rational,
    params: Arc<StreamParams>,
    form: SampleForm,
    duration: Option<Time90k>,
    /// Nominal frame duration, for frames without a timestamp or duration.
    nominal: Time90k,
    /// The first frame's pts in this pass, at 90 kHz, before the offset.
    first: Option<i64>,
    /// Added to this pass's timestamps: where the previous passes ended.
    base: i64,
    /// The end (pts + duration) of the latest-ending frame so far, on the output timeline.
    end: i64,
    last_pts: Option<i64>,
    last_dts: Option<i64>,
    frames: u64,
    passes: u64,
    corrupt: u64,
    lost: bool,
    at_eof: bool,
}

impl PacketReader {
    /// Opens `path` and picks its best video stream.
    ///
    /// Errors, each naming the file: those of [`crate::VideoFile::open`] for a missing file, a directory or not a
    /// video; [`ErrorKind::Unsupported`] for a codec other than H.264 or H.265; [`ErrorKind::InvalidData`] if the
    /// stream has no usable parameter sets.
    pub fn open(path: &Path) -> Result<PacketReader> {
        let (input, stream_index, time_base, params, form, duration, fps) = open_stream(path)?;
        let nominal = Time90k::from_secs_f64(1.0 / fps.unwrap_or(25.0));
        Ok(PacketReader {
            path: path.to_path_buf(),
            input,
            stream_index,
            time_base,
            params: Arc::new(params),
            form,
            duration,
            nominal: Time90k(nominal.0.max(1)),
            first: None,
            base: 0,
            end: 0,
            last_pts: None,
            last_dts: None,
            frames: 0,
            passes: 0,
            corrupt: 0,
            lost: false,
            at_eof: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stream's parameters; every frame carries the same `Arc` (a new one only if a rewind found the file
    /// changed).
    pub fn params(&self) -> &Arc<StreamParams> {
        &self.params
    }

    /// Duration of one pass over the file, if the container declares it.
    pub fn duration_90k(&self) -> Option<Time90k> {
        self.duration
    }

    /// Frames returned so far, over all passes.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Completed rewinds.
    pub fn passes(&self) -> u64 {
        self.passes
    }

    /// Samples skipped as malformed plus demuxer errors skipped, over all passes.
    pub fn corrupt_packets(&self) -> u64 {
        self.corrupt
    }

    /// The next frame in decode order, or `None` at the end of the file (until [`PacketReader::rewind`]).
    /// `wall_ms` is 0: the caller stamps it.
    pub fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
        if self.at_eof {
            return Ok(None);
        }
        let mut errors_in_a_row = 0u32;
        loop {
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) => {
                    errors_in_a_row = 0;
                    if packet.stream() != self.stream_index {
                        continue;
                    }
                    if let Some(f) = self.frame_from(&packet) {
                        return Ok(Some(f));
                    }
                }
                Err(ffmpeg::Error::Eof) => {
                    self.at_eof = true;
                    return Ok(None);
                }
                Err(e) if is_eagain(&e) => continue,
                Err(e) => {
                    self.corrupt += 1;
                    self.lost = true;
                    errors_in_a_row += 1;
                    if errors_in_a_row >= MAX_CONSECUTIVE_DEMUX_ERRORS {
                        self.at_eof = true;
                        return Err(Error::wrap(
                            ErrorKind::InvalidData,
                            format!(
                                "{}: the demuxer failed {errors_in_a_row} times in a row",
                                self.path.display()
                            ),
                            e,
                        ));
                    }
                }
            }
        }
    }

    /// Converts one packet of the video stream; `None` (counted, and flagged on the next frame) if its sample is
    /// malformed.
    fn frame_from(&mut self, packet: &ffmpeg::Packet) -> Option<EncodedFrame> {
        let raw = packet.data().unwrap_or(&[]);
        let data = match self.form {
            SampleForm::Avcc => Some(raw.to_vec()),
            SampleForm::AvccShort(n) => nal::widen_lengths(raw, n),
            SampleForm::AnnexB => Some(nal::annex_b_to_avcc(raw)).filter(|d| !d.is_empty()),
        };
        let Some(data) = data.filter(|d| !d.is_empty()) else {
            self.corrupt += 1;
            self.lost = true;
            return None;
        };

        let to90k = |ts: i64| ts.rescale(self.time_base, TB_90K);
        let (pts, dts) = match (packet.pts().map(to90k), packet.dts().map(to90k)) {
            (Some(p), Some(d)) => (p, d),
            (Some(p), None) => (p, p),
            (None, Some(d)) => (d, d),
            (None, None) => {
                // Synthesise on the output timeline, then undo the offset applied below.
                let next = self.last_pts.map_or(self.base, |p| p + self.nominal.0);
                let t = next - self.base + self.first.unwrap_or(0);
                (t, t)
            }
        };
        let first = *self.first.get_or_insert(pts);
        let mut pts = pts - first + self.base;
        let mut dts = dts - first + self.base;
        if let Some(last) = self.last_dts
            && dts <= last
        {
            dts = last + 1;
        }
        pts = pts.max(dts);
        let dur = match packet.duration() {
            d if d > 0 => to90k(d),
            _ => self.nominal.0,
        };
        self.end = self.end.max(pts + dur);
        self.last_pts = Some(pts);
        self.last_dts = Some(dts);
        self.frames += 1;
        Some(EncodedFrame {
            params: Arc::clone(&self.params),
            pts: Time90k(pts),
            dts: Time90k(dts),
            wall_ms: 0,
            is_key: packet.is_key(),
            data,
            loss_before: std::mem::take(&mut self.lost),
        })
    }

    /// Starts the file again from its first frame, continuing the timeline (see the type's documentation). The
    /// file is opened afresh, so a file replaced in between is picked up; if its parameters changed, frames carry
    /// a new `params`.
    pub fn rewind(&mut self) -> Result<()> {
        let (input, stream_index, time_base, params, form, duration, _) = open_stream(&self.path)?;
        self.input = input;
        self.stream_index = stream_index;
        self.time_base = time_base;
        if params != *self.params {
            self.params = Arc::new(params);
        }
        self.form = form;
        self.duration = duration;
        self.base = self.end;
        self.first = None;
        self.lost = false;
        self.at_eof = false;
        self.passes += 1;
        Ok(())
    }
}

type Opened = (
    ffmpeg::format::context::Input,
    usize,
    Rational,
    StreamParams,
    SampleForm,
    Option<Time90k>,
    Option<f64>,
);

fn open_stream(path: &Path) -> Result<Opened> {
    let shown = path.display();
    let input = open_input(path)?;
    let stream = best_video_stream(&input, path)?;
    let par = stream.parameters();
    let codec = match par.id() {
        codec::Id::H264 => VideoCodec::H264,
        codec::Id::HEVC => VideoCodec::H265,
        other => bail!(
            Unsupported,
            "{shown}: video codec {} is not supported for live streams and recording (H.264 and H.265 only)",
            other.name()
        ),
    };
    // SAFETY: `par` wraps the stream's codec parameters, valid while `input` lives; the fields are plain data
    // and `extradata` holds `extradata_size` bytes when not null.
    let (width, height, extradata) = unsafe {
        let p = par.as_ptr();
        let extra = if (*p).extradata.is_null() || (*p).extradata_size <= 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts((*p).extradata, (*p).extradata_size as usize).to_vec()
        };
        ((*p).width, (*p).height, extra)
    };
    if width <= 0 || height <= 0 {
        bail!(InvalidData, "{shown}: the video stream has no frame size");
    }
    let (record, form) = if extradata.first() == Some(&1) {
        match nal::record_length_size(codec, &extradata) {
            Some(4) => (extradata, SampleForm::Avcc),
            Some(n) => (
                nal::record_with_length_size_4(codec, &extradata),
                SampleForm::AvccShort(n),
            ),
            None => bail!(
                InvalidData,
                "{shown}: malformed {} decoder configuration record",
                codec.as_str()
            ),
        }
    } else if extradata.is_empty() || nal::is_annex_b(&extradata) {
        let units = nal::annex_b_units(&extradata);
        let record = nal::build_record(codec, &units).map_err(|what| {
            err!(
                InvalidData,
                "{shown}: cannot build the {} decoder configuration from the stream header: {what}",
                codec.as_str()
            )
        })?;
        (record, SampleForm::AnnexB)
    } else {
        bail!(
            InvalidData,
            "{shown}: unrecognised {} extradata ({} bytes)",
            codec.as_str(),
            extradata.len()
        );
    };

    let time_base = stream.time_base();
    if time_base.numerator() <= 0 || time_base.denominator() <= 0 {
        bail!(InvalidData, "{shown}: the video stream has no time base");
    }
    let fps = [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .map(rational_f64)
        .find(|&f| f > 0.0 && f <= 1000.0);
    let duration = if stream.duration() > 0 {
        Some(Time90k(stream.duration().rescale(time_base, TB_90K)))
    } else if input.duration() > 0 {
        Some(Time90k(
            input.duration().rescale(Rational(1, ffmpeg::ffi::AV_TIME_BASE), TB_90K),
        ))
    } else {
        None
    };
    let params = StreamParams {
        codec,
        width: width as u32,
        height: height as u32,
        extradata: record,
        nominal_fps: fps,
    };
    let index = stream.index();
    Ok((input, index, time_base, params, form, duration, fps))
}

#[cfg(test)]
mod tests {
    #[test]
    fn packet_reader_is_send() {
        fn send<T: Send>() {}
        send::<super::PacketReader>();
    }
}
