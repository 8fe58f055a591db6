//! Version 7 → 8: the search indexes of issue 8 (`track_by_run_first`, `track_long_by_run_last`,
//! `event_by_run_zone`, `event_by_run_line`)
//! and `case_export`.
//!
//! Purely additive. The SQL is the same text as the end of `schema.sql` (the upgrade test compares the two).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

/// The same text as the end of `schema.sql`.
pub(super) const SEARCH_INDEXES_AND_EXPORTS: &str = include_str!("v8_search.sql");

pub(super) fn run(tx: &Transaction) -> Result<()> {
    tx.execute_batch(SEARCH_INDEXES_AND_EXPORTS)
        .sql(|| "adding the search indexes and the case exports".into())
}
