//! Version 4 → 5: adds the console's tables: `app_user`, `session` and `event_decision`.
//!
//! Purely additive. The SQL is the same text as the end of `schema.sql` (the upgrade test compares the two).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

/// The same text as the end of `schema.sql`.
pub(super) const CONSOLE_TABLES: &str = include_str!("v5_console.sql");

pub(super) fn run(tx: &Transaction) -> Result<()> {
    tx.execute_batch(CONSOLE_TABLES)
        .sql(|| "adding the console tables".into())
}
