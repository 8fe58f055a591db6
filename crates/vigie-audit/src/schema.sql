-- The audit log: its own SQLite file (`vigie-data/audit.db` by default), never the main database.
--
-- Marked with `pragma application_id = 0x5641_5544` ('VAUD'); `AuditLog::open` refuses any other SQLite file.
-- Append-only twice over: the code never updates or deletes a row except through `purge_older_than`, and the
-- triggers below refuse UPDATE on every table and DELETE of any entry or checkpoint that the signed retention anchor
-- does not cover. An attacker with write access to the file can drop the triggers; what they then change is caught
-- by `AuditLog::verify` (hash chain and signed checkpoints), not by SQLite.

-- One row: the schema version and the time the log was created.
create table meta (
  id integer primary key check (id = 1),
  -- Version of this schema; `AuditLog::open` refuses a newer one.
  schema_version integer not null,
  -- When the log was created, milliseconds since 1970-01-01 UTC.
  created_unix_ms integer not null
);

-- One row per user (or system) action, in the order they were appended.
create table audit_entry (
  -- 1, 2, 3, ... without gaps (retention only removes a prefix). Part of the hashed content, so an entry moved to
  -- another place no longer matches its hash.
  seq integer primary key check (seq >= 1),
  -- When the action happened, milliseconds since 1970-01-01 UTC (the caller's clock).
  at_unix_ms integer not null,
  -- The console username, or "system" for the service's own actions (retention, expiry of an authorisation).
  actor text not null check (length(actor) between 1 and 200),
  -- What was done: a closed list (`Action`).
  action text not null check (action in (
    'login', 'login_failed', 'logout', 'live_view', 'search', 'export', 'plate_lookup', 'alert_decision',
    'config_change', 'model_change', 'retention_deletion', 'user_change', 'hold_change')),
  -- What it was done to: a camera, an event id, a case reference, a username; "" when nothing.
  target text not null,
  -- Details as a JSON text, hashed byte for byte as stored.
  detail text not null check (json_valid(detail)),
  -- The previous entry's `hash` (32 zero bytes for seq 1; the anchor's hash for the first entry after a purge).
  prev_hash blob not null check (length(prev_hash) = 32),
  -- SHA-256 of the canonical encoding of (seq, at_unix_ms, actor, action, target, detail, prev_hash): see
  -- `entry_hash` in lib.rs.
  hash blob not null check (length(hash) = 32)
);

-- A signed statement "the chain's hash at `up_to_seq` is `hash`", made every N entries and on demand.
create table audit_checkpoint (
  -- The entry the checkpoint covers (it and, through the chain, every entry before it).
  up_to_seq integer primary key check (up_to_seq >= 1),
  -- That entry's `hash`.
  hash blob not null check (length(hash) = 32),
  -- Ed25519 signature by the instance key of `checkpoint_message(up_to_seq, hash, at_unix_ms)` (lib.rs).
  signature blob not null check (length(signature) = 64),
  -- The signing public key, 32 bytes. `verify` checks it against the instance's key, not against itself.
  public_key blob not null check (length(public_key) = 32),
  -- When the checkpoint was made, milliseconds since 1970-01-01 UTC.
  at_unix_ms integer not null
);

-- At most one row: the retention anchor. After a purge, the hash of the last purged entry, signed, so the first
-- remaining entry's `prev_hash` is still checked. Only ever moves forward.
create table audit_anchor (
  id integer primary key check (id = 1),
  -- The last purged entry's seq; the first remaining entry is `seq + 1`.
  seq integer not null check (seq >= 1),
  -- The last purged entry's hash.
  hash blob not null check (length(hash) = 32),
  -- Ed25519 signature by the instance key of `anchor_message(seq, hash, at_unix_ms)` (lib.rs).
  signature blob not null check (length(signature) = 64),
  -- The signing public key, 32 bytes.
  public_key blob not null check (length(public_key) = 32),
  -- When the purge happened, milliseconds since 1970-01-01 UTC.
  at_unix_ms integer not null
);

-- Append-only at the SQL level: no entry is ever changed.
create trigger audit_entry_no_update before update on audit_entry
begin
  select raise(abort, 'audit_entry is append-only: update refused');
end;

-- Entries are deleted only by retention: at or below the signed anchor, and at least 183 days old.
create trigger audit_entry_no_delete before delete on audit_entry
when old.seq > coalesce((select seq from audit_anchor where id = 1), 0)
  or old.at_unix_ms > cast(strftime('%s', 'now') as integer) * 1000 - 183 * 86400000
begin
  select raise(abort, 'audit_entry is append-only: delete refused (only retention removes entries older than 183 days, below the signed anchor)');
end;

create trigger audit_checkpoint_no_update before update on audit_checkpoint
begin
  select raise(abort, 'audit_checkpoint is append-only: update refused');
end;

-- Checkpoints go only with the entries they cover, at or below the anchor.
create trigger audit_checkpoint_no_delete before delete on audit_checkpoint
when old.up_to_seq > coalesce((select seq from audit_anchor where id = 1), 0)
begin
  select raise(abort, 'audit_checkpoint is append-only: delete refused');
end;

-- The anchor only moves forward.
create trigger audit_anchor_forward before update on audit_anchor
when new.seq <= old.seq
begin
  select raise(abort, 'audit_anchor only moves forward');
end;

create trigger audit_anchor_no_delete before delete on audit_anchor
begin
  select raise(abort, 'audit_anchor cannot be deleted');
end;
