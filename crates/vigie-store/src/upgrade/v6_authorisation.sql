
-- Version 6: authorisations (issue 7). An analytic rule runs on a camera only while an authorisation covering that
-- camera and the rule's event type is valid (between its start and end, not revoked): a prefect's order names the
-- authority, its reference, the cameras, the event types and the dates (décret 2023-828). Rows are never deleted
-- (the transparency register and the audit refer to them): an authorisation ends by its date or is revoked.
create table authorisation (
  id integer primary key autoincrement,

  -- Who granted it, e.g. "Préfecture de police".
  authority text not null check (length(trim(authority)) between 1 and 200),

  -- The order's reference, e.g. "arrêté 2026-0142"; shown on the public register.
  reference text not null check (length(trim(reference)) between 1 and 200),

  -- Valid from `start_unix_ms` (included) to `end_unix_ms` (excluded).
  start_unix_ms integer not null,
  end_unix_ms integer not null check (end_unix_ms > start_unix_ms),

  -- Who recorded it (console username or "cli:<login>"), and when.
  created_by text not null check (created_by <> ''),
  created_unix_ms integer not null,

  -- When and by whom it was revoked before its end; both NULL while it is not.
  revoked_unix_ms integer,
  revoked_by text,
  check ((revoked_unix_ms is null) = (revoked_by is null))
) strict;

-- The cameras an authorisation covers, by configured name (at least one per authorisation, checked by the store).
create table authorisation_camera (
  authorisation_id integer not null references authorisation (id),
  camera text not null check (length(camera) between 1 and 64 and camera not glob '*[^A-Za-z0-9_-]*'),
  primary key (authorisation_id, camera)
) strict, without rowid;

-- The event types an authorisation covers: only the eight types of décret 2023-828 art. 3 can be authorised
-- (`gathering` runs under `excessive_density`, `loitering` under `intrusion`; counting needs none).
create table authorisation_event_type (
  authorisation_id integer not null references authorisation (id),
  event_type text not null check (event_type in ('abandoned_object', 'weapon', 'wrong_way', 'intrusion',
                                                 'person_on_ground', 'crowd_movement', 'excessive_density',
                                                 'fire_start')),
  primary key (authorisation_id, event_type)
) strict, without rowid;
