//! Version 3 → 4: adds recording: `camera`, `recording` (one MP4 segment per row), `recording_gap`,
//! `camera_state`, `legal_hold` and the deletion log `retention_deletion`.
//!
//! Purely additive: a database from before version 4 has recorded nothing. The SQL is the same text as the end of
//! `schema.sql` (the upgrade test compares the two).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

/// The same text as the end of `schema.sql`.
pub(super) const RECORDING_TABLES: &str = include_str!("v4_recording.sql");

pub(super) fn run(tx: &Transaction) -> Result<()> {
    tx.execute_batch(RECORDING_TABLES)
        .sql(|| "adding the recording tables".into())
}
