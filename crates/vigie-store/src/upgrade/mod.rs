//! Creating the schema of an empty database, and upgrading an older one step by step.
//!
//! Each step is a module `vN_to_vM` with a `run` function that takes a version N database to version N + 1 inside
//! the caller's transaction. [`prepare`] runs all the steps a database needs in one transaction, with foreign keys
//! off (some future steps will have to rebuild tables, which foreign keys forbid) and checked by hand before the
//! commit: a failed step leaves the database exactly as it was, at its old version.
//!
//! Adding a version: write the step, add it to [`STEPS`], change `schema.sql` to what the step produces, bump
//! [`SCHEMA_VERSION`], and freeze the previous schema as `vN.sql` when a test needs to build such a database. The
//! test `upgraded_schema_equals_fresh_schema` checks the step and `schema.sql` agree.

use rusqlite::{Connection, OptionalExtension, Transaction};
use vigie_core::{Result, bail, err};

use crate::{SCHEMA_SQL, SCHEMA_VERSION, SqlResultExt, unix_ms_now, write_transaction};

mod v1_to_v2;
mod v2_to_v3;
mod v3_to_v4;
mod v4_to_v5;
mod v5_to_v6;
mod v6_to_v7;
mod v7_to_v8;
mod v8_to_v9;

/// The schema at version 1, frozen; the upgrade tests build version 1 databases with it.
#[cfg(test)]
pub(crate) const V1_SQL: &str = include_str!("v1.sql");

type Step = fn(&Transaction) -> Result<()>;

/// `STEPS[i]` upgrades a database from version `i + 1` to `i + 2`.
pub(crate) const STEPS: [Step; (SCHEMA_VERSION - 1) as usize] = [
    v1_to_v2::run,
    v2_to_v3::run,
    v3_to_v4::run,
    v4_to_v5::run,
    v5_to_v6::run,
    v6_to_v7::run,
    v7_to_v8::run,
    v8_to_v9::run,
];

/// Brings the database on `conn` to [`SCHEMA_VERSION`]: creates it when empty, upgrades it when older, refuses it
/// when newer or when it is not a Vigie database. Leaves foreign keys off; the caller turns them on.
pub(crate) fn prepare(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", false)
        .sql(|| "setting foreign_keys = OFF".into())?;
    // IMMEDIATE: two processes opening the same new database do not both create the schema; the second waits,
    // then sees the first one's tables.
    let tx = write_transaction(conn, "preparing the schema")?;
    let objects: i64 = tx
        .query_row("select count(*) from sqlite_master", [], |r| r.get(0))
        .sql(|| "reading the schema".into())?;
    if objects == 0 {
        create(&tx)?;
        return tx.commit().sql(|| "committing the new schema".into());
    }
    let version = read_version(&tx)?;
    if version > SCHEMA_VERSION {
        bail!(
            Database,
            "the database is at schema version {version}, newer than the version {SCHEMA_VERSION} this Vigie knows: \
             open it with a newer Vigie"
        );
    }
    if version < 1 {
        bail!(Database, "the database claims an invalid schema version {version}");
    }
    if version == SCHEMA_VERSION {
        return Ok(()); // dropping `tx` rolls back an empty transaction
    }
    for v in version..SCHEMA_VERSION {
        STEPS[(v - 1) as usize](&tx)
            .map_err(|e| e.context(format!("upgrading the schema from version {v} to {}", v + 1)))?;
    }
    tx.execute("update meta set schema_version = ? where id = 1", [SCHEMA_VERSION])
        .sql(|| "recording the new schema version".into())?;
    check_foreign_keys(&tx).map_err(|e| e.context(format!("upgrading from schema version {version}")))?;
    tx.commit()
        .sql(|| format!("committing the upgrade from schema version {version} to {SCHEMA_VERSION}"))
}

/// Creates the current schema in an empty database.
fn create(tx: &Transaction) -> Result<()> {
    tx.execute_batch(SCHEMA_SQL).sql(|| "creating the schema".into())?;
    insert_meta(tx, SCHEMA_VERSION)
}

/// Inserts the one `meta` row, with a fresh instance uuid.
pub(crate) fn insert_meta(tx: &Transaction, version: i64) -> Result<()> {
    let uuid = new_uuid(tx)?;
    tx.execute(
        "insert into meta (id, schema_version, instance_uuid, created_unix_ms) values (1, ?, ?, ?)",
        rusqlite::params![version, uuid, unix_ms_now()],
    )
    .sql(|| "writing the meta row".into())?;
    Ok(())
}

/// The schema version of a non-empty database, or an error saying it is not a Vigie database.
fn read_version(tx: &Transaction) -> Result<i64> {
    let has_meta: bool = tx
        .query_row(
            "select count(*) > 0 from sqlite_master where type = 'table' and name = 'meta'",
            [],
            |r| r.get(0),
        )
        .sql(|| "reading the schema".into())?;
    if !has_meta {
        bail!(Database, "not a Vigie database: it has tables but no meta table");
    }
    tx.query_row("select schema_version from meta where id = 1", [], |r| r.get(0))
        .optional()
        .sql(|| "reading the schema version".into())?
        .ok_or_else(|| {
            err!(
                Database,
                "not a Vigie database, or a damaged one: its meta table has no row"
            )
        })
}

/// `pragma foreign_key_check` over the whole database, as an error when anything dangles.
fn check_foreign_keys(tx: &Transaction) -> Result<()> {
    let dangling: i64 = tx
        .query_row("select count(*) from pragma_foreign_key_check", [], |r| r.get(0))
        .sql(|| "checking foreign keys".into())?;
    if dangling > 0 {
        bail!(
            Database,
            "{dangling} rows refer to rows that do not exist (pragma foreign_key_check)"
        );
    }
    Ok(())
}

/// A random UUID version 4 in text form, from SQLite's random generator.
fn new_uuid(tx: &Transaction) -> Result<String> {
    let mut b: Vec<u8> = tx
        .query_row("select randomblob(16)", [], |r| r.get(0))
        .sql(|| "drawing a random instance id".into())?;
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}
