//! Creating the schema of an empty plate database, and checking (later: upgrading) an existing one.
//!
//! The same scheme as `vigie-store`: `meta.schema_version` holds the version; each future step is a module
//! `vN_to_vM` with a `run` function that takes a version N database to N + 1 inside the caller's transaction, listed
//! in [`STEPS`]; [`prepare`] runs all the steps a database needs in one transaction, with foreign keys off and
//! checked by hand before the commit, so a failed step leaves the database as it was. Version 1 is the first, so
//! there is no step yet.

use rusqlite::{Connection, OptionalExtension, Transaction};
use vigie_core::{Result, bail, err};

use super::plate::PlateKey;
use super::{APPLICATION_ID, SCHEMA_SQL, SCHEMA_VERSION, SqlResultExt, write_transaction};

type Step = fn(&Transaction) -> Result<()>;

/// `STEPS[i]` upgrades a database from version `i + 1` to `i + 2`.
const STEPS: [Step; (SCHEMA_VERSION - 1) as usize] = [];

/// Brings the database on `conn` to [`SCHEMA_VERSION`]: creates it when empty, upgrades it when older; refuses a
/// newer one, a SQLite file that is not a plate database (the main Vigie database included), and a database created
/// with another plate key. `now_unix_ms` is the creation time recorded in a new database.
pub(super) fn prepare(conn: &mut Connection, key: &PlateKey, now_unix_ms: i64) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", false)
        .sql(|| "setting foreign_keys = OFF".into())?;
    // IMMEDIATE: two processes opening the same new database do not both create the schema.
    let tx = write_transaction(conn, "preparing the schema")?;
    let objects: i64 = tx
        .query_row("select count(*) from sqlite_master", [], |r| r.get(0))
        .sql(|| "reading the schema".into())?;
    if objects == 0 {
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .sql(|| "setting the application id".into())?;
        tx.execute_batch(SCHEMA_SQL).sql(|| "creating the schema".into())?;
        tx.execute(
            "insert into meta (id, schema_version, key_check, created_unix_ms) values (1, ?, ?, ?)",
            rusqlite::params![SCHEMA_VERSION, key.check_value().as_slice(), now_unix_ms],
        )
        .sql(|| "writing the meta row".into())?;
        return tx.commit().sql(|| "committing the new schema".into());
    }
    let app_id: i64 = tx
        .query_row("pragma application_id", [], |r| r.get(0))
        .sql(|| "reading the application id".into())?;
    if app_id != i64::from(APPLICATION_ID) {
        bail!(
            Database,
            "not a Vigie plate database (application id {app_id:#x}, expected {APPLICATION_ID:#x}): plate data \
             lives in its own file, never in the main database"
        );
    }
    let (version, key_check): (i64, Vec<u8>) = tx
        .query_row("select schema_version, key_check from meta where id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .sql(|| "reading the meta row".into())?
        .ok_or_else(|| err!(Database, "a damaged plate database: its meta table has no row"))?;
    if version > SCHEMA_VERSION {
        bail!(
            Database,
            "the plate database is at schema version {version}, newer than the version {SCHEMA_VERSION} this Vigie \
             knows: open it with a newer Vigie"
        );
    }
    if version < 1 {
        bail!(
            Database,
            "the plate database claims an invalid schema version {version}"
        );
    }
    if key_check != key.check_value() {
        bail!(
            Config,
            "the plate key is not the one this plate database was created with: no paid session would match"
        );
    }
    if version == SCHEMA_VERSION {
        return Ok(()); // dropping `tx` rolls back an empty transaction
    }
    for v in version..SCHEMA_VERSION {
        STEPS[(v - 1) as usize](&tx)
            .map_err(|e| e.context(format!("upgrading the plate schema from version {v} to {}", v + 1)))?;
    }
    tx.execute("update meta set schema_version = ? where id = 1", [SCHEMA_VERSION])
        .sql(|| "recording the new schema version".into())?;
    let dangling: i64 = tx
        .query_row("select count(*) from pragma_foreign_key_check", [], |r| r.get(0))
        .sql(|| "checking foreign keys".into())?;
    if dangling > 0 {
        bail!(
            Database,
            "upgrading from schema version {version}: {dangling} rows refer to missing rows"
        );
    }
    tx.commit()
        .sql(|| format!("committing the upgrade from schema version {version} to {SCHEMA_VERSION}"))
}
