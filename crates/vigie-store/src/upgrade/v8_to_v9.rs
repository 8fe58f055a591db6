//! Version 8 → 9: adds `review_case.plates_allowed`, whether a case's judicial order allows plate searches (issue 8:
//! plate search only for those allowed to; legal.md: plate data kept apart, with separate access).
//!
//! Purely additive. Cases opened before version 9 get 0: no plate search in them (`vigie search --plate` worked in
//! any case before; a case that needs it is opened again with `--plates`, under a new reference).

use rusqlite::Transaction;
use vigie_core::Result;

use crate::SqlResultExt;

pub(super) fn run(tx: &Transaction) -> Result<()> {
    // The column text must equal its definition in schema.sql: SQLite splices it into the stored CREATE TABLE,
    // which the upgrade test compares with a fresh database's.
    tx.execute_batch(
        "alter table review_case add column plates_allowed integer not null default 0 \
         check (plates_allowed in (0, 1));",
    )
    .sql(|| "adding review_case.plates_allowed".into())
}
