-- Vigie's plate database (parking pre-check): the full current schema, version 1
-- (`vigie_plates::parking::SCHEMA_VERSION`).
--
-- A database file of its own, apart from the main database (`vigie-store`): plate data is personal data with its
-- own purpose, retention and access (legal.md, LAPI). Nothing here refers to the main database (no run id, no track
-- id, no instance uuid) and nothing there refers to this one, so no query can join plate reads to events. The file
-- is marked with `pragma application_id = 0x5650_4C54` ('VPLT'); `ParkingStore::open` refuses any other SQLite file,
-- the main database included.
--
-- `ParkingStore::open` runs this file as is on an empty database, then inserts the one `meta` row. Later versions
-- will reach the new schema through numbered steps in `upgrade.rs`, as `vigie-store` does; change this file only
-- together with such a step.
--
-- Conventions (as in the main database):
-- * Units are in column names. `_unix_ms`: wall-clock time in milliseconds since 1970-01-01 00:00 UTC. `_s`, `_min`:
--   durations or times of day in seconds or minutes.
-- * Tables are STRICT: a value of the wrong type is refused, not stored as whatever it is.
-- * Every invariant a column has is a CHECK, and the Rust side checks the same values first with a clearer message.
-- * Plates are normalised: ASCII upper-case letters and digits only, 2 to 10 of them (`AB123CD`).
--
-- Deletion is real: the connection runs with `pragma secure_delete = ON` (deleted content is overwritten with zeros,
-- in the table, its indexes and freed pages) and truncates the write-ahead log (`pragma wal_checkpoint(TRUNCATE)`)
-- after every operation that erases plate data, so that an erased plate or photo is in none of the database's files
-- (`.db`, `-wal`, `-shm`). `temp_store = MEMORY` keeps sorts and temporary tables out of temporary files.

-- What this database is. Exactly one row.
create table meta (
  -- Always 1, so the table cannot hold a second row.
  id integer primary key check (id = 1),

  -- The schema version this database is at. A newer one than the code's is refused.
  schema_version integer not null check (schema_version >= 1),

  -- HMAC-SHA256 of a fixed text under the plate key (`PlateKey`): opening the database with another key is refused,
  -- since no paid session would match (every paying driver would be queued). Reveals nothing about the key.
  key_check blob not null check (length(key_check) = 32),

  -- When the database was created.
  created_unix_ms integer not null
) strict;

-- A parking zone: an area of one camera's view where parking rules apply.
create table zone (
  -- AUTOINCREMENT: ids are never reused, so counters and decisions of a zone never pass to another one.
  id integer primary key autoincrement,

  -- The zone's code, as payment providers know it (the `zone` column of their exports). Unique.
  name text not null unique check (name <> ''),

  -- The camera whose view the polygon is drawn on (its configured name).
  camera text not null check (camera <> ''),

  -- Local time: a fixed offset from UTC in minutes (Paris: 60) plus the summer-time rule, 'none' or 'eu' (+60
  -- minutes from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October).
  utc_offset_min integer not null check (utc_offset_min between -720 and 840),
  dst_rule text not null check (dst_rule in ('none', 'eu')),

  -- Seconds a vehicle may stay in a paid period before its payment is checked, counted from the later of its
  -- arrival and the start of the paid period.
  grace_s integer not null check (grace_s between 0 and 86400),

  -- When the zone was created.
  created_unix_ms integer not null
) strict;

-- The polygon of a zone: its vertices in order, in normalised image coordinates (0..1, origin top left, x right,
-- y down), so that it holds whatever the stream's resolution.
create table zone_vertex (
  zone_id integer not null references zone (id) on delete cascade,

  -- Position of the vertex in the polygon, from 0.
  idx integer not null check (idx >= 0),

  x real not null check (x between 0 and 1),
  y real not null check (y between 0 and 1),

  primary key (zone_id, idx)
) strict, without rowid;

-- When parking in a zone is paid: ranges of local time per day of the week. A zone with no range is free.
create table zone_paid_hours (
  zone_id integer not null references zone (id) on delete cascade,

  -- 0 = Monday ... 6 = Sunday.
  weekday integer not null check (weekday between 0 and 6),

  -- Local minutes since midnight; `end_min` is exclusive, 1440 for a range that runs to midnight. Ranges of
  -- adjacent days that touch form one paid period (see `rules.rs`).
  start_min integer not null check (start_min between 0 and 1439),
  end_min integer not null check (end_min between 1 and 1440),

  primary key (zone_id, weekday, start_min),
  check (end_min > start_min)
) strict, without rowid;

-- A paid parking session, as a payment provider reports it (CSV import or API).
--
-- The plate is NOT stored: only its HMAC-SHA256 under the plate key, which the database does not hold. Matching an
-- observation computes the read plate's digest and looks it up, so the plate of a vehicle that paid is never
-- written, and a copy of this file alone gives no plate. Rows are deleted once the session ended plus a margin
-- (`Retention::session_margin_ms`).
create table paid_session (
  id integer primary key,

  -- HMAC-SHA256 of the normalised plate (`PlateKey::plate_digest`).
  plate_digest blob not null check (length(plate_digest) = 32),

  zone_id integer not null references zone (id),

  -- The paid time: a vehicle observed at `t` with `start_unix_ms <= t < end_unix_ms` has paid. At most 366 days
  -- (a resident's yearly permit).
  start_unix_ms integer not null,
  end_unix_ms integer not null,

  -- The provider's id of the payment (transaction, ticket). Unique when given: the same reference sent again
  -- (a retry, an extended session) replaces the earlier row instead of adding one.
  reference text unique check (reference <> '' and length(reference) <= 200),

  -- How it came in: 'csv' (`import_sessions_csv`) or 'api' (`add_session`), and when.
  source text not null check (source in ('csv', 'api')),
  received_unix_ms integer not null,

  check (end_unix_ms > start_unix_ms),
  check (end_unix_ms - start_unix_ms <= 366 * 86400000)
) strict;

-- "Did this plate pay for this zone at this time?": the one query on sessions. `end_unix_ms` also serves the purge.
create index paid_session_by_plate on paid_session (plate_digest, zone_id, end_unix_ms);
create index paid_session_by_end on paid_session (end_unix_ms);

-- A pre-check record: a vehicle parked in a paid period beyond the grace period with no paid session, waiting for a
-- sworn agent's decision. Created pending, and only an agent's decision changes its state: pending → confirmed (a
-- fine was started, its reference stored) or pending → dismissed (with a reason). Triggers below refuse any other
-- transition and any row created in another state, so no fine can exist without an agent's confirmation.
--
-- The plate text is kept while the record is pending (the agent compares it with the vehicle) and erased (set NULL)
-- by the decision. Evidence photos are kept until `evidence_expires_unix_ms` (the appeal period for a confirmed
-- record; `Retention::dismissed_evidence_ms`, 0 by default, for a dismissed one). The record itself, without plate
-- or photos, stays as the log of the decision for `Retention::decision_log_ms`. A pending record no agent decided
-- within `Retention::pending_max_ms` is deleted with its photos (counted as expired).
create table precheck (
  -- AUTOINCREMENT: a decision log entry never takes the id of a deleted record.
  id integer primary key autoincrement,

  zone_id integer not null references zone (id),

  -- The camera that saw the vehicle (the zone's camera).
  camera text not null check (camera <> ''),

  -- The normalised plate while pending; NULL once decided.
  plate text check (length(plate) between 2 and 10 and plate not glob '*[^A-Z0-9]*'),

  -- The reader's confidence in the plate text, 0..1 (at least `Config::min_confidence`).
  confidence real not null check (confidence between 0 and 1),

  -- When the vehicle was first seen in the zone, when the observation that queued the record was made, and when
  -- it was last seen (later observations of the same plate in the zone while pending move this one only).
  first_seen_unix_ms integer not null,
  queued_unix_ms integer not null,
  last_seen_unix_ms integer not null,

  -- 'pending', 'confirmed' or 'dismissed'.
  state text not null check (state in ('pending', 'confirmed', 'dismissed')),

  -- The sworn agent who decided (their identifier), and when. NULL exactly while pending.
  decided_by text check (decided_by <> ''),
  decided_unix_ms integer,

  -- The reference of the fine (FPS) the agent started: set exactly when confirmed.
  fine_reference text check (fine_reference <> '' and length(fine_reference) <= 200),

  -- Why the agent dismissed the record: set exactly when dismissed.
  dismiss_reason text check (dismiss_reason <> '' and length(dismiss_reason) <= 1000),

  -- When the evidence photos are to be deleted (set by the decision), and when they were. NULL while pending.
  evidence_expires_unix_ms integer,
  evidence_purged_unix_ms integer,

  check (last_seen_unix_ms >= queued_unix_ms and queued_unix_ms >= first_seen_unix_ms),
  check ((state = 'pending') = (plate is not null)),
  check ((state = 'pending') = (decided_by is null)),
  check ((state = 'pending') = (decided_unix_ms is null)),
  check ((state = 'pending') = (evidence_expires_unix_ms is null)),
  check ((state = 'confirmed') = (fine_reference is not null)),
  check ((state = 'dismissed') = (dismiss_reason is not null)),
  check (evidence_purged_unix_ms is null or state <> 'pending')
) strict;

-- One pending record per plate and zone: a vehicle still there at the next pass adds no second record.
create unique index precheck_pending_plate on precheck (zone_id, plate) where state = 'pending';
-- The agent's queue, oldest first, and the purges.
create index precheck_by_state on precheck (state, queued_unix_ms);

-- The state machine, enforced by the database itself: a record is created pending ...
create trigger precheck_created_pending before insert on precheck
  when new.state <> 'pending' or new.decided_by is not null
begin
  select raise(abort, 'a pre-check record is created pending: only an agent''s decision changes its state');
end;

-- ... and a decision is final: once confirmed or dismissed, the state, who decided, when, the fine reference and
-- the reason never change (the purge only erases photos and sets evidence_purged_unix_ms).
create trigger precheck_decision_is_final before update of state, decided_by, decided_unix_ms, fine_reference,
  dismiss_reason, evidence_expires_unix_ms on precheck
  when old.state <> 'pending'
begin
  select raise(abort, 'a decided pre-check record is final: pending → confirmed | dismissed only');
end;

-- The two evidence photos of a pre-check record, JPEG bytes. Deleted at `precheck.evidence_expires_unix_ms`, or
-- with their record.
create table evidence (
  precheck_id integer not null references precheck (id) on delete cascade,

  -- 0 and 1: the two crops given with the observation, in their order (typically the plate, then the vehicle in
  -- its place).
  idx integer not null check (idx in (0, 1)),

  -- When the photo was taken.
  taken_unix_ms integer not null,

  -- The JPEG file: starts with the SOI marker FF D8 FF; at most 4 MiB.
  jpeg blob not null check (substr(jpeg, 1, 3) = x'FFD8FF' and length(jpeg) <= 4194304),

  primary key (precheck_id, idx)
) strict, without rowid;

-- What agents did with plate data (legal.md: logs of what users do; AI Act art. 12): listing the queue, viewing
-- evidence, deciding. No plate, no photo. Kept for `Retention::decision_log_ms`.
create table agent_log (
  id integer primary key,
  at_unix_ms integer not null,

  -- The agent's identifier.
  agent text not null check (agent <> ''),

  -- 'list_queue', 'view_evidence', 'confirm' or 'dismiss'.
  action text not null check (action in ('list_queue', 'view_evidence', 'confirm', 'dismiss')),

  -- The record acted on; NULL for 'list_queue'. No foreign key: the log outlives deleted records.
  precheck_id integer,

  check ((action = 'list_queue') = (precheck_id is null))
) strict;

create index agent_log_by_time on agent_log (at_unix_ms);

-- What remains of observations: counts per zone and local day (the zone's time), with no plate. Kept (statistics:
-- how many vehicles were checked, paid, queued; how many records agents confirmed or dismissed).
create table daily_count (
  zone_id integer not null references zone (id),

  -- Local date, YYYY-MM-DD.
  day text not null check (day glob '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),

  -- Observations of vehicles parked in the zone (`observe` calls), and what they came to: parking free at that
  -- time, still within the grace period, plate unread or read with too little confidence, a paid session
  -- matched, a new pre-check record queued. `checked` is the sum of the five plus repeated observations of a
  -- vehicle already queued.
  checked integer not null default 0 check (checked >= 0),
  free integer not null default 0 check (free >= 0),
  within_grace integer not null default 0 check (within_grace >= 0),
  unreadable integer not null default 0 check (unreadable >= 0),
  paid integer not null default 0 check (paid >= 0),
  queued integer not null default 0 check (queued >= 0),

  -- Agents' decisions (by the day of the decision), and pending records deleted undecided.
  confirmed integer not null default 0 check (confirmed >= 0),
  dismissed integer not null default 0 check (dismissed >= 0),
  expired integer not null default 0 check (expired >= 0),

  primary key (zone_id, day)
) strict, without rowid;
