//! Version 2 → 3: adds the situation-analysis events (`event`, `event_track`).
//!
//! Purely additive: runs stored before version 3 simply have no events. The SQL is the same text as in
//! `schema.sql` (the upgrade test compares the two).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

/// The same text as the end of `schema.sql`.
pub(super) const EVENT_TABLES: &str = include_str!("v3_events.sql");

pub(super) fn run(tx: &Transaction) -> Result<()> {
    tx.execute_batch(EVENT_TABLES).sql(|| "adding the event tables".into())
}
