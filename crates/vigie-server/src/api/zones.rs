//! Zones, lines and rules edited in the console, kept across restarts.
//!
//! `PUT /api/cameras/{name}/zones` writes the camera's zones, lines and rules to `<database dir>/zones/<camera>.toml`
//! (the configuration's `[[zone]]`, `[[line]]`, `[[rule]]` syntax); at start, `Service::start` uses such a file, when
//! present, instead of the camera's zones, lines and rules in the configuration file. Delete the file to go back to
//! the configuration's.

use std::path::{Path, PathBuf};

use vigie_core::{Error, ErrorKind, Result};
use vigie_rules::RulesConfig;

/// `<database dir>/zones`.
pub fn zones_dir(database: &Path) -> PathBuf {
    database
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("zones")
}

fn file(dir: &Path, camera: &str) -> PathBuf {
    dir.join(format!("{camera}.toml"))
}

/// The saved zones of `camera`, if a file exists.
pub fn load(dir: &Path, camera: &str) -> Result<Option<RulesConfig>> {
    let p = file(dir, camera);
    match std::fs::read_to_string(&p) {
        Ok(text) => RulesConfig::parse(&text, &p.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::wrap(ErrorKind::Io, format!("reading {}", p.display()), e)),
    }
}

/// Writes the zones of `camera` whole or not at all (a temporary file, fsync, rename).
pub fn save(dir: &Path, camera: &str, rules: &RulesConfig) -> Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", dir.display()), e))?;
    let text = toml::to_string(rules).map_err(|e| Error::wrap(ErrorKind::Internal, "writing zones as TOML", e))?;
    let p = file(dir, camera);
    let tmp = p.with_extension("toml.part");
    let mut f = std::fs::File::create(&tmp)
        .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", tmp.display()), e))?;
    let header = format!(
        "# Zones, lines and rules of camera {camera}, saved from the console; used instead of the configuration's.\n"
    );
    f.write_all(header.as_bytes())
        .and_then(|_| f.write_all(text.as_bytes()))
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &p).map_err(|e| Error::wrap(ErrorKind::Io, format!("renaming to {}", p.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_zones_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"
[[zone]]
id = "forecourt"
polygon = [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0]]
[[line]]
id = "l"
from = [0.0, 0.5]
to = [1.0, 0.5]
[[rule]]
id = "r"
type = "intrusion"
zones = ["forecourt"]
schedule = { timezone = "UTC", windows = [{ days = ["sat"], start = "22:00", end = "06:00" }] }
"#;
        let r = RulesConfig::parse(text, "t").unwrap();
        assert!(load(dir.path(), "cam").unwrap().is_none());
        save(dir.path(), "cam", &r).unwrap();
        assert_eq!(load(dir.path(), "cam").unwrap(), Some(r));
    }
}
