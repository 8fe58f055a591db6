//! NAL-unit plumbing for H.264 and H.265 without FFmpeg: Annex-B (start codes) to AVCC/HVCC (4-byte lengths),
//! `avcC`/`hvcC` records built from parameter sets, and length-prefix normalisation.
//!
//! [`crate::PacketReader`] hands out frames in one form whatever the container held: MP4 samples are AVCC/HVCC
//! already (possibly with 1- or 2-byte lengths, which are widened to 4); MPEG-TS and raw `.h264`/`.h265` streams
//! carry Annex-B, converted here. Everything returns `None` (or an error message) on malformed input, never panics.

use vigie_core::VideoCodec;

/// Whether `data` starts with an Annex-B start code (`00 00 01` or `00 00 00 01`).
pub(crate) fn is_annex_b(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

/// Splits an Annex-B byte stream into NAL units (without start codes or trailing zero bytes). Bytes before the
/// first start code are ignored. Empty units are dropped.
pub(crate) fn annex_b_units(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if let Some(s) = start {
                push_unit(&mut out, &data[s..i]);
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        push_unit(&mut out, &data[s..]);
    }
    out
}

fn push_unit<'a>(out: &mut Vec<&'a [u8]>, unit: &'a [u8]) {
    // The zero before a 4-byte start code, and trailing_zero_8bits, end up at the end of the previous unit. A NAL
    // unit never ends in a zero byte (rbsp_trailing_bits), so they can all go.
    let end = unit.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    if end > 0 {
        out.push(&unit[..end]);
    }
}

/// Annex-B access unit to AVCC/HVCC (each NAL unit prefixed by its 4-byte big-endian length). All NAL units are
/// kept (including access unit delimiters and in-band parameter sets), as FFmpeg's MP4 muxer does.
pub(crate) fn annex_b_to_avcc(data: &[u8]) -> Vec<u8> {
    let units = annex_b_units(data);
    let mut out = Vec::with_capacity(data.len() + 4);
    for u in units {
        out.extend_from_slice(&(u.len() as u32).to_be_bytes());
        out.extend_from_slice(u);
    }
    out
}

/// Rewrites a sample whose NAL units are prefixed by `len_size`-byte lengths (1, 2 or 4) with 4-byte lengths.
/// `None` if a length runs past the end.
pub(crate) fn widen_lengths(data: &[u8], len_size: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 8);
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < len_size {
            return None;
        }
        let len = rest[..len_size].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        rest = &rest[len_size..];
        if len > rest.len() {
            return None;
        }
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
    }
    Some(out)
}

/// The NAL unit type of a unit (header included).
pub(crate) fn nal_type(codec: VideoCodec, unit: &[u8]) -> Option<u8> {
    let first = *unit.first()?;
    Some(match codec {
        VideoCodec::H264 => first & 0x1f,
        VideoCodec::H265 => (first >> 1) & 0x3f,
    })
}

/// The NAL-length size an `avcC`/`hvcC` record declares (1, 2 or 4 bytes), or `None` if the record is malformed.
pub(crate) fn record_length_size(codec: VideoCodec, record: &[u8]) -> Option<usize> {
    if record.first() != Some(&1) {
        return None;
    }
    let b = match codec {
        VideoCodec::H264 => *record.get(4)?,
        VideoCodec::H265 => *record.get(21)?,
    };
    match (b & 3) + 1 {
        3 => None,
        n => Some(n as usize),
    }
}

/// A copy of the record declaring 4-byte NAL lengths.
pub(crate) fn record_with_length_size_4(codec: VideoCodec, record: &[u8]) -> Vec<u8> {
    let mut r = record.to_vec();
    let i = match codec {
        VideoCodec::H264 => 4,
        VideoCodec::H265 => 21,
    };
    if let Some(b) = r.get_mut(i) {
        *b |= 3;
    }
    r
}

/// Builds the decoder configuration record (`avcC` or `hvcC`) from the parameter sets found among `units`
/// (Annex-B extradata or the first key frame). Errors say what is missing.
pub(crate) fn build_record(codec: VideoCodec, units: &[&[u8]]) -> Result<Vec<u8>, String> {
    match codec {
        VideoCodec::H264 => build_avcc(units),
        VideoCodec::H265 => build_hvcc(units),
    }
}

/// Appends `unit` to `list` unless an identical one is there already.
fn push_distinct<'a>(list: &mut Vec<&'a [u8]>, unit: &'a [u8]) {
    if !list.contains(&unit) {
        list.push(unit);
    }
}

fn push_u16_len(out: &mut Vec<u8>, unit: &[u8]) -> Result<(), String> {
    let len = u16::try_from(unit.len()).map_err(|_| format!("a parameter set of {} bytes", unit.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(unit);
    Ok(())
}

/// `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 5.3.3.1), with the high-profile extension (chroma format,
/// bit depths) as FFmpeg writes it.
fn build_avcc(units: &[&[u8]]) -> Result<Vec<u8>, String> {
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    for &u in units {
        match nal_type(VideoCodec::H264, u) {
            Some(7) => push_distinct(&mut sps, u),
            Some(8) => push_distinct(&mut pps, u),
            _ => {}
        }
    }
    let Some(first) = sps.first() else {
        return Err("no H.264 SPS".into());
    };
    if pps.is_empty() {
        return Err("no H.264 PPS".into());
    }
    if first.len() < 4 || sps.len() > 31 || pps.len() > 255 {
        return Err("malformed H.264 parameter sets".into());
    }
    let mut out = vec![1, first[1], first[2], first[3], 0xff, 0xe0 | sps.len() as u8];
    for s in &sps {
        push_u16_len(&mut out, s)?;
    }
    out.push(pps.len() as u8);
    for p in &pps {
        push_u16_len(&mut out, p)?;
    }
    let profile = first[1];
    if matches!(profile, 100 | 110 | 122 | 144) {
        let info = parse_h264_sps(first).ok_or("malformed H.264 SPS")?;
        out.push(0xfc | info.chroma_format_idc as u8);
        out.push(0xf8 | info.bit_depth_luma_minus8 as u8);
        out.push(0xf8 | info.bit_depth_chroma_minus8 as u8);
        out.push(0); // numOfSequenceParameterSetExt
    }
    Ok(out)
}

struct H264SpsInfo {
    chroma_format_idc: u32,
    bit_depth_luma_minus8: u32,
    bit_depth_chroma_minus8: u32,
}

fn parse_h264_sps(sps: &[u8]) -> Option<H264SpsInfo> {
    let rbsp = unescape(sps.get(1..)?);
    let mut r = BitReader::new(&rbsp);
    let profile = r.bits(8)?;
    r.bits(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut info = H264SpsInfo {
        chroma_format_idc: 1,
        bit_depth_luma_minus8: 0,
        bit_depth_chroma_minus8: 0,
    };
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135 | 144
    ) {
        info.chroma_format_idc = r.ue()?;
        if info.chroma_format_idc > 3 {
            return None;
        }
        if info.chroma_format_idc == 3 {
            r.bits(1)?;
        }
        info.bit_depth_luma_minus8 = r.ue()?;
        info.bit_depth_chroma_minus8 = r.ue()?;
        if info.bit_depth_luma_minus8 > 7 || info.bit_depth_chroma_minus8 > 7 {
            return None;
        }
    }
    Some(info)
}

/// `HEVCDecoderConfigurationRecord` (ISO/IEC 14496-15 8.3.3.1). The general profile, tier and level, chroma
/// format and bit depths come from the SPS; `min_spatial_segmentation_idc`, `parallelismType` and the frame rate
/// fields are left at "unknown" (0), which decoders do not need.
fn build_hvcc(units: &[&[u8]]) -> Result<Vec<u8>, String> {
    let (mut vps, mut sps, mut pps) = (Vec::new(), Vec::new(), Vec::new());
    for &u in units {
        match nal_type(VideoCodec::H265, u) {
            Some(32) => push_distinct(&mut vps, u),
            Some(33) => push_distinct(&mut sps, u),
            Some(34) => push_distinct(&mut pps, u),
            _ => {}
        }
    }
    let Some(first) = sps.first() else {
        return Err("no H.265 SPS".into());
    };
    if vps.is_empty() || pps.is_empty() {
        return Err("no H.265 VPS or PPS".into());
    }
    let info = parse_h265_sps(first).ok_or("malformed H.265 SPS")?;
    let mut out = Vec::with_capacity(64);
    out.push(1);
    out.extend_from_slice(&info.general_ptl);
    out.extend_from_slice(&[0xf0, 0x00]); // reserved, min_spatial_segmentation_idc = 0
    out.push(0xfc); // reserved, parallelismType = 0 (unknown)
    out.push(0xfc | info.chroma_format_idc as u8);
    out.push(0xf8 | info.bit_depth_luma_minus8 as u8);
    out.push(0xf8 | info.bit_depth_chroma_minus8 as u8);
    out.extend_from_slice(&[0, 0]); // avgFrameRate unknown
    // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
    out.push((((info.max_sub_layers_minus1 + 1) as u8) << 3) | ((info.temporal_id_nesting as u8) << 2) | 3);
    out.push(3); // numOfArrays
    for (ty, list) in [(32u8, &vps), (33, &sps), (34, &pps)] {
        out.push(0x80 | ty); // array_completeness = 1: all parameter sets are in the record
        let n = u16::try_from(list.len()).map_err(|_| "too many H.265 parameter sets")?;
        out.extend_from_slice(&n.to_be_bytes());
        for u in list.iter() {
            push_u16_len(&mut out, u)?;
        }
    }
    Ok(out)
}

struct H265SpsInfo {
    /// general_profile_space .. general_level_idc: 12 bytes, copied as they are into the record.
    general_ptl: [u8; 12],
    max_sub_layers_minus1: u32,
    temporal_id_nesting: bool,
    chroma_format_idc: u32,
    bit_depth_luma_minus8: u32,
    bit_depth_chroma_minus8: u32,
}

fn parse_h265_sps(sps: &[u8]) -> Option<H265SpsInfo> {
    let rbsp = unescape(sps.get(2..)?);
    let mut r = BitReader::new(&rbsp);
    r.bits(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)?;
    let temporal_id_nesting = r.bits(1)? == 1;
    let mut general_ptl = [0u8; 12];
    for b in &mut general_ptl {
        *b = r.bits(8)? as u8;
    }
    let n = max_sub_layers_minus1 as usize;
    let mut present = Vec::with_capacity(n);
    for _ in 0..n {
        present.push((r.bits(1)? == 1, r.bits(1)? == 1));
    }
    if n > 0 {
        for _ in n..8 {
            r.bits(2)?;
        }
    }
    for (profile, level) in present {
        if profile {
            r.skip(88)?;
        }
        if level {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc > 3 {
        return None;
    }
    if chroma_format_idc == 3 {
        r.bits(1)?;
    }
    r.ue()?; // pic_width_in_luma_samples
    r.ue()?; // pic_height_in_luma_samples
    if r.bits(1)? == 1 {
        for _ in 0..4 {
            r.ue()?; // conformance window offsets
        }
    }
    let bit_depth_luma_minus8 = r.ue()?;
    let bit_depth_chroma_minus8 = r.ue()?;
    if bit_depth_luma_minus8 > 7 || bit_depth_chroma_minus8 > 7 {
        return None;
    }
    Some(H265SpsInfo {
        general_ptl,
        max_sub_layers_minus1,
        temporal_id_nesting,
        chroma_format_idc,
        bit_depth_luma_minus8,
        bit_depth_chroma_minus8,
    })
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    /// Up to 32 bits, most significant first.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        if self.pos + n > self.data.len() * 8 {
            return None;
        }
        self.pos += n;
        Some(())
    }

    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_annex_b() {
        let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5, 0];
        assert_eq!(
            annex_b_units(&data),
            vec![&[0x67u8, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        assert_eq!(
            annex_b_to_avcc(&data),
            vec![0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 3, 0x65, 4, 5]
        );
        assert!(annex_b_units(&[1, 2, 3]).is_empty());
        assert!(annex_b_units(&[]).is_empty());
        assert!(is_annex_b(&data) && !is_annex_b(&[1, 0x64]));
    }

    #[test]
    fn widens_lengths() {
        assert_eq!(
            widen_lengths(&[0, 2, 9, 8, 0, 1, 7], 2),
            Some(vec![0, 0, 0, 2, 9, 8, 0, 0, 0, 1, 7])
        );
        assert_eq!(widen_lengths(&[3, 1], 1), None);
        assert_eq!(widen_lengths(&[0], 2), None);
    }

    #[test]
    fn exp_golomb_and_unescape() {
        // 1 → 0; 010 → 1; 011 → 2; 00100 → 3.
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!((r.ue(), r.ue(), r.ue(), r.ue()), (Some(0), Some(1), Some(2), Some(3)));
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
        assert_eq!(BitReader::new(&[0, 0, 0, 0, 0]).ue(), None);
    }

    #[test]
    fn malformed_parameter_sets_are_errors_not_panics() {
        assert!(build_record(VideoCodec::H264, &[]).is_err());
        assert!(build_record(VideoCodec::H264, &[&[0x67], &[0x68]]).is_err());
        assert!(build_record(VideoCodec::H264, &[&[0x67, 100, 0, 30], &[0x68, 1]]).is_err());
        assert!(build_record(VideoCodec::H265, &[&[0x40, 1], &[0x42, 1], &[0x44, 1]]).is_err());
        assert_eq!(record_length_size(VideoCodec::H264, &[1, 66, 0, 30, 0xfd]), Some(2));
        assert_eq!(record_length_size(VideoCodec::H264, &[1, 66, 0]), None);
        assert_eq!(record_length_size(VideoCodec::H264, &[0, 0, 0, 1]), None);
    }
}
