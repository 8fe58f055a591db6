//! `vigie export` and `vigie verify-export`: evidence exports inside a case (issue 8).
//!
//! An export is a folder: `clip.mp4`, re-encoded from the camera's recorded segments over the asked window (within
//! the case's), with people and vehicle plates blurred (the detector runs on every exported frame: person boxes
//! blurred whole, the lower-middle part of vehicle boxes, where the plate is); `manifest.json` (case, authority,
//! camera, times, exporter, whether blurred and who approved otherwise, the instance's public key, SHA-256 and size
//! of every other file); `manifest.sig`, the instance key's Ed25519 signature of `manifest.json`, in hex.
//! `vigie verify-export DIR` checks the signature and every file, and names each altered, missing or added file.
//!
//! Unblurred exports need `--approved-by` naming an active supervisor account (two-person rule); the approval is in
//! the manifest and in the audit log (`export`).
//!
//! The camera's privacy masks (`[[camera.privacy_mask]]` of the configuration) are filled in every exported frame,
//! before the detector and the blur, also in unblurred exports.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame, bail, err};
use vigie_store::Store;

use crate::audit_cmd::rfc3339_ms;

/// `vigie export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The case the export belongs to.
    #[arg(long)]
    case: String,
    /// The camera exported (one of the case's).
    #[arg(long)]
    camera: String,
    /// Start and end of the clip (RFC 3339 with an offset), within the case's window.
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    /// The export folder (created; must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// No blurring: only with --approved-by a supervisor.
    #[arg(long)]
    unblurred: bool,
    /// The supervisor account approving an unblurred export.
    #[arg(long)]
    approved_by: Option<String>,
    /// Configuration file ([storage] database, [server] recordings, detector); defaults apply without one.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub const CLIP: &str = "clip.mp4";
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";

/// Vehicle labels whose plate region is blurred.
const VEHICLES: [&str; 4] = ["car", "bus", "truck", "motorcycle"];

/// Blurs `b` (clamped to the frame) in place: two passes of a box filter of radius a quarter of the box's smaller
/// side (at least 6 px), which leaves no face or plate legible.
pub fn blur_region(f: &mut RgbFrame, b: BBox) {
    if !b.is_finite() {
        return;
    }
    let (w, h) = (f.width as usize, f.height as usize);
    let x1 = (b.x1.max(0.0) as usize).min(w);
    let x2 = (b.x2.max(0.0).ceil() as usize).min(w);
    let y1 = (b.y1.max(0.0) as usize).min(h);
    let y2 = (b.y2.max(0.0).ceil() as usize).min(h);
    if x2 <= x1 + 1 || y2 <= y1 + 1 || f.data.len() < w * h * 3 {
        return;
    }
    let (rw, rh) = (x2 - x1, y2 - y1);
    let r = (rw.min(rh) / 4).max(6);
    let mut buf = vec![0f32; rw * rh * 3];
    for y in 0..rh {
        for x in 0..rw {
            for c in 0..3 {
                buf[(y * rw + x) * 3 + c] = f32::from(f.data[((y1 + y) * w + x1 + x) * 3 + c]);
            }
        }
    }
    let mut tmp = vec![0f32; buf.len()];
    for _ in 0..2 {
        box_pass(&buf, &mut tmp, rw, rh, r, true);
        box_pass(&tmp, &mut buf, rw, rh, r, false);
    }
    for y in 0..rh {
        for x in 0..rw {
            for c in 0..3 {
                f.data[((y1 + y) * w + x1 + x) * 3 + c] = buf[(y * rw + x) * 3 + c].round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// One box-filter pass along rows (`horizontal`) or columns, radius `r`, edges clamped, with running sums.
fn box_pass(src: &[f32], dst: &mut [f32], w: usize, h: usize, r: usize, horizontal: bool) {
    let (n, lines) = if horizontal { (w, h) } else { (h, w) };
    let idx = |line: usize, i: usize| if horizontal { line * w + i } else { i * w + line };
    for line in 0..lines {
        for c in 0..3 {
            let at = |i: isize| src[idx(line, i.clamp(0, n as isize - 1) as usize) * 3 + c];
            let r = r as isize;
            let mut sum: f32 = (-r..=r).map(at).sum();
            let k = (2 * r + 1) as f32;
            for i in 0..n as isize {
                dst[idx(line, i as usize) * 3 + c] = sum / k;
                sum += at(i + r + 1) - at(i - r);
            }
        }
    }
}

/// The plate band of a vehicle box (x 15-85 %, y 50-100 % of the box), widened by 10 %: where its plate is, when no
/// reader says. Blurred in exports and in the track snapshots of `vigie analyze`.
pub fn vehicle_plate_band(b: &BBox) -> BBox {
    let (bw, bh) = (b.x2 - b.x1, b.y2 - b.y1);
    let r = BBox::from([b.x1 + 0.15 * bw, b.y1 + 0.5 * bh, b.x2 - 0.15 * bw, b.y2]);
    let (pw, ph) = ((r.x2 - r.x1) * 0.1, (r.y2 - r.y1) * 0.1);
    BBox::from([r.x1 - pw, r.y1 - ph, r.x2 + pw, r.y2 + ph])
}

/// The regions of a frame an export blurs: whole person boxes, the plate band of vehicles (x 15-85 %, y 50-100 %
/// of the box), each widened by 10 %.
pub fn blur_regions(dets: &vigie_core::Detections, labels: &[String]) -> Vec<BBox> {
    let mut out = Vec::new();
    for (b, c) in dets.boxes.iter().zip(&dets.class_ids) {
        let label = labels.get(c.0 as usize).map(String::as_str).unwrap_or("");
        if label == "person" {
            let (pw, ph) = ((b.x2 - b.x1) * 0.1, (b.y2 - b.y1) * 0.1);
            out.push(BBox::from([b.x1 - pw, b.y1 - ph, b.x2 + pw, b.y2 + ph]));
        } else if VEHICLES.contains(&label) {
            out.push(vehicle_plate_band(b));
        }
    }
    out
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).map_err(|e| err!(Io, "opening {}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f
            .read(&mut buf)
            .map_err(|e| err!(Io, "reading {}: {e}", path.display()))?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((h.finalize().iter().map(|b| format!("{b:02x}")).collect(), n))
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

pub fn run_export(a: ExportArgs) -> Result<()> {
    let cfg = super::load_config(a.config.as_deref())?;
    let bases = crate::config::Bases::new(a.config.as_deref());
    let mut store = Store::open(&cfg.storage.database)?;
    let now = vigie_server::unix_ms();
    let case = store
        .case(&a.case)?
        .ok_or_else(|| err!(NotFound, "no case {:?}", a.case))?;
    case.require_open(now)?;
    if !case.cameras.contains(&a.camera) {
        bail!(
            InvalidArgument,
            "camera {:?} is not in case {:?}",
            a.camera,
            case.reference
        );
    }
    let from = rfc3339_ms("from", &a.from)?.max(case.from_unix_ms);
    let to = rfc3339_ms("to", &a.to)?.min(case.to_unix_ms);
    if to <= from {
        bail!(
            InvalidArgument,
            "the clip is outside case {:?}'s window",
            case.reference
        );
    }
    let approved_by = match (a.unblurred, &a.approved_by) {
        (false, None) => None,
        (false, Some(_)) => bail!(InvalidArgument, "--approved-by is for --unblurred exports"),
        (true, None) => bail!(
            InvalidArgument,
            "an unblurred export needs --approved-by SUPERVISOR (two-person rule)"
        ),
        (true, Some(s)) => {
            let u = store
                .user_by_name(s)?
                .ok_or_else(|| err!(InvalidArgument, "--approved-by {s:?}: no such account"))?;
            if u.disabled || u.role != vigie_store::Role::Supervisor {
                bail!(InvalidArgument, "--approved-by {s:?}: not an active supervisor account");
            }
            Some(u.username)
        }
    };
    let camera = store
        .cameras()?
        .into_iter()
        .find(|c| c.name == a.camera)
        .ok_or_else(|| err!(NotFound, "no recordings of camera {:?}", a.camera))?;
    let segments = store.segments(camera.id, from, to)?;
    if segments.is_empty() {
        bail!(NotFound, "camera {:?} recorded nothing in the window", a.camera);
    }
    if a.out.exists()
        && std::fs::read_dir(&a.out)
            .map_err(|e| err!(Io, "reading {}: {e}", a.out.display()))?
            .next()
            .is_some()
    {
        bail!(InvalidArgument, "{} is not empty", a.out.display());
    }
    std::fs::create_dir_all(&a.out).map_err(|e| err!(Io, "creating {}: {e}", a.out.display()))?;

    let mut detector = if a.unblurred {
        None
    } else {
        let ort = bases.resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
        vigie_vision::init_runtime(&ort)?;
        Some(vigie_vision::Detector::new(&cfg.detector_config(&bases)?)?)
    };
    let labels: Vec<String> = detector
        .as_ref()
        .map(|d| d.class_set().labels().to_vec())
        .unwrap_or_default();
    let clip = a.out.join(CLIP);
    // The camera's privacy masks (issue 7), filled in every exported frame, blurred or not.
    let mask_configs = cfg
        .cameras
        .iter()
        .find(|c| c.name == a.camera)
        .map_or(&[][..], |c| &c.privacy_masks[..]);
    for m in mask_configs {
        m.validate(&a.camera)?;
    }
    let mut masks = vigie_core::PrivacyMasks::new(mask_configs);
    let mut enc: Option<vigie_video::Mp4Encoder> = None;
    let mut blurred_regions = 0u64;
    for seg in &segments {
        let path = cfg.server.recordings.join(&seg.relative_path);
        let mut reader = vigie_video::PacketReader::open(&path)?;
        let fps = (f64::from(seg.frames) * 90_000.0 / seg.duration_90k.max(1) as f64).round() as u32;
        let mut dec = vigie_video::FrameDecoder::new(1);
        let mut first_pts: Option<i64> = None;
        let mut frames = Vec::new();
        while let Some(ef) = reader.next_frame()? {
            let first = *first_pts.get_or_insert(ef.pts.0);
            let wall = seg.start_unix_ms + (ef.pts.0 - first) / 90;
            if let Some(f) = dec.decode(&ef, (from..to).contains(&wall))? {
                frames.push(f);
            }
        }
        frames.extend(dec.flush()?);
        for mut f in frames {
            if f.data.is_empty() {
                continue;
            }
            let wall = seg.start_unix_ms + (f.pts.0 - first_pts.unwrap_or(0)) / 90;
            if !(from..to).contains(&wall) {
                continue;
            }
            masks.apply(&mut f);
            if let Some(d) = detector.as_mut() {
                for r in blur_regions(&d.detect(&f)?, &labels) {
                    blur_region(&mut f, r);
                    blurred_regions += 1;
                }
            }
            if enc.is_none() {
                enc = Some(vigie_video::Mp4Encoder::create(
                    &clip,
                    f.width,
                    f.height,
                    fps.clamp(1, 120),
                )?);
            }
            if let Some(e) = enc.as_mut() {
                e.write(&f)?;
            }
        }
    }
    let frames = match enc {
        Some(e) => e.finish()?,
        None => bail!(NotFound, "no frame of camera {:?} in the window", a.camera),
    };

    let data_dir = crate::audit_cmd::data_dir(a.config.as_deref())?;
    let key = vigie_audit::InstanceKey::load_or_create(&data_dir.join("instance.key"))?;
    let (sha, bytes) = sha256_file(&clip)?;
    let exporter = format!(
        "cli:{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".into())
    );
    let manifest = json!({
        "format": "vigie-export/1",
        "case": case.reference,
        "authority": case.authority,
        "case_expires": rfc3339(case.expires_unix_ms),
        "cameras": [a.camera],
        "from": rfc3339(from),
        "to": rfc3339(to),
        "exporter": exporter,
        "exported_at": rfc3339(now),
        "blurred": !a.unblurred,
        "approved_by": approved_by,
        "privacy_masks": mask_configs.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        "instance_uuid": store.instance_uuid()?,
        "instance_public_key": key.public_key_hex(),
        "files": [{"name": CLIP, "sha256": sha, "bytes": bytes, "frames": frames}],
    });
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| err!(Internal, "serialising the manifest: {e}"))?;
    let write = |name: &str, b: &[u8]| {
        std::fs::write(a.out.join(name), b).map_err(|e| err!(Io, "writing {}: {e}", a.out.join(name).display()))
    };
    write(MANIFEST, &text)?;
    write(SIGNATURE, key.sign(&text).to_hex().as_bytes())?;
    // Registered with its case, absolute: retention deletes the folder when the case expires (refused, like the
    // export itself, once the case is closed or expired).
    let out_abs = std::fs::canonicalize(&a.out).map_err(|e| err!(Io, "{}: {e}", a.out.display()))?;
    let out_str = out_abs
        .to_str()
        .ok_or_else(|| err!(InvalidArgument, "{}: not a UTF-8 path", out_abs.display()))?;
    let files = [CLIP, MANIFEST, SIGNATURE].map(String::from);
    store.record_case_export(&case, out_str, &files, now)?;
    crate::audit_cmd::record(
        a.config.as_deref(),
        vigie_audit::Action::Export,
        &format!("case:{}", case.reference),
        json!({"camera": a.camera, "from": rfc3339(from), "to": rfc3339(to), "blurred": !a.unblurred,
               "approved_by": approved_by, "frames": frames, "clip_sha256": sha}),
    )?;
    eprintln!(
        "{}: {frames} frames, {} ({} regions blurred), signed by {}",
        clip.display(),
        if a.unblurred { "unblurred" } else { "blurred" },
        blurred_regions,
        key.public_key_hex()
    );
    Ok(())
}

/// Checks an export folder; `Ok(problems)` lists each problem (empty: intact).
pub fn verify_export(dir: &Path, public_key: Option<&str>) -> Result<Vec<String>> {
    let text =
        std::fs::read(dir.join(MANIFEST)).map_err(|e| err!(NotFound, "{}: {e}", dir.join(MANIFEST).display()))?;
    let sig_hex = std::fs::read_to_string(dir.join(SIGNATURE))
        .map_err(|e| err!(NotFound, "{}: {e}", dir.join(SIGNATURE).display()))?;
    let manifest: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| err!(InvalidData, "{MANIFEST}: not JSON ({e}): the manifest was altered"))?;
    let mut problems = Vec::new();
    let pk = manifest["instance_public_key"].as_str().unwrap_or("").to_owned();
    if let Some(want) = public_key
        && !want.eq_ignore_ascii_case(&pk)
    {
        problems.push(format!("{MANIFEST}: signed by {pk}, not by the expected key {want}"));
    }
    let sig = unhex(sig_hex.trim()).and_then(|b| vigie_audit::Signature::from_slice(&b));
    let signed = match sig {
        Some(s) => vigie_audit::verify(&pk, &text, &s).unwrap_or(false),
        None => false,
    };
    if !signed {
        problems.push(format!(
            "{MANIFEST}: the signature ({SIGNATURE}) does not match: altered"
        ));
    }
    let mut listed = vec![MANIFEST.to_owned(), SIGNATURE.to_owned()];
    for f in manifest["files"].as_array().into_iter().flatten() {
        let Some(name) = f["name"].as_str() else {
            problems.push(format!("{MANIFEST}: a file without a name"));
            continue;
        };
        // Names are plain file names in the folder: nothing that climbs out of it.
        if name.contains('/') || name.contains('\\') || name == ".." || name.is_empty() {
            problems.push(format!("{MANIFEST}: refusing file name {name:?}"));
            continue;
        }
        listed.push(name.to_owned());
        let path = dir.join(name);
        if !path.exists() {
            problems.push(format!("{name}: missing"));
            continue;
        }
        let (sha, _) = sha256_file(&path)?;
        if Some(sha.as_str()) != f["sha256"].as_str() {
            problems.push(format!("{name}: altered (SHA-256 {sha} differs from the manifest's)"));
        }
    }
    for e in std::fs::read_dir(dir).map_err(|e| err!(Io, "reading {}: {e}", dir.display()))? {
        let e = e.map_err(|e| err!(Io, "reading {}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !listed.contains(&name) {
            problems.push(format!("{name}: not in the manifest (added)"));
        }
    }
    Ok(problems)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub fn run_verify(dir: &Path, public_key: Option<&str>) -> Result<()> {
    let problems = verify_export(dir, public_key)?;
    if problems.is_empty() {
        println!("{}: intact: signature and every file verified", dir.display());
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidData,
            format!("{}: NOT intact: {}", dir.display(), problems.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variance(f: &RgbFrame, b: BBox) -> f64 {
        let mut v = Vec::new();
        for y in b.y1 as u32..b.y2 as u32 {
            for x in b.x1 as u32..b.x2 as u32 {
                v.push(f64::from(f.data[((y * f.width + x) * 3) as usize]));
            }
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
    }

    #[test]
    fn blur_flattens_the_region_and_leaves_the_rest() {
        let mut f = RgbFrame::from_fn(
            120,
            100,
            |x, y| if (x / 3 + y / 3) % 2 == 0 { [250; 3] } else { [5; 3] },
        );
        let orig = f.clone();
        let b = BBox::from([20.0, 20.0, 80.0, 90.0]);
        blur_region(&mut f, b);
        assert!(
            variance(&f, b) < variance(&orig, b) / 50.0,
            "{} vs {}",
            variance(&f, b),
            variance(&orig, b)
        );
        let outside = BBox::from([90.0, 0.0, 120.0, 100.0]);
        assert_eq!(variance(&f, outside), variance(&orig, outside));
        blur_region(&mut f, BBox::from([f32::NAN, 0.0, 5.0, 5.0])); // ignored
        blur_region(&mut f, BBox::from([500.0, 500.0, 600.0, 600.0])); // outside: ignored
    }
}
