//! Version 1 → 2: adds `track.class_confidence`, the share of the class vote won by the track's class, and the
//! index `track_by_class_time` for per-class queries across runs.
//!
//! Purely additive. Tracks stored at version 1 keep `class_confidence` NULL: their vote was not recorded, and
//! inventing a value (1.0) would make them look unanimous.

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

pub(super) fn run(tx: &Transaction) -> Result<()> {
    // The column text must equal its definition in schema.sql: SQLite splices it into the stored CREATE TABLE,
    // which the upgrade test compares with a fresh database's.
    tx.execute_batch(
        "alter table track add column class_confidence real check (class_confidence between 0 and 1);
         create index track_by_class_time on track (class, run_id, first_90k);",
    )
    .sql(|| "adding track.class_confidence and the index track_by_class_time".into())
}
