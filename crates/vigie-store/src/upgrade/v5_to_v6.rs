//! Version 5 → 6: adds the authorisations (issue 7): `authorisation`, `authorisation_camera`,
//! `authorisation_event_type`.
//!
//! Purely additive. The SQL is the same text as the end of `schema.sql` (the upgrade test compares the two).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

/// The same text as the end of `schema.sql`.
pub(super) const AUTHORISATION_TABLES: &str = include_str!("v6_authorisation.sql");

pub(super) fn run(tx: &Transaction) -> Result<()> {
    tx.execute_batch(AUTHORISATION_TABLES)
        .sql(|| "adding the authorisation tables".into())
}
