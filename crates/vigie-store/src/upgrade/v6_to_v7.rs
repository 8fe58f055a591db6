//! Version 6 → 7: adds review assistance (issue 8): `run_camera`, `track_colour`, `review_case`.
//!
//! Purely additive. The SQL is the same text as the end of `schema.sql` (the upgrade test compares the two).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

/// The same text as the end of `schema.sql`.
pub(super) const REVIEW_TABLES: &str = include_str!("v7_review.sql");

pub(super) fn run(tx: &Transaction) -> Result<()> {
    tx.execute_batch(REVIEW_TABLES)
        .sql(|| "adding the review tables".into())
}
