-- One situation-analysis event (a lawful event type raised by a rule). Never joined with plate data, which lives
-- in another database file with its own access.
create table event (
  -- The rule engine's stable id, `ev-` and 16 hex digits: the same clip gives the same ids, live or in replay.
  id text primary key check (id glob 'ev-[0-9a-f]*' and length(id) = 19),

  -- The run (video file or camera session) it was raised in.
  run_id integer not null references analysis_run (id),

  -- The event type: the eight types of décret 2023-828 art. 3, plus gathering and loitering.
  kind text not null check (kind in ('abandoned_object', 'weapon', 'wrong_way', 'intrusion', 'person_on_ground',
                                     'crowd_movement', 'excessive_density', 'fire_start', 'gathering', 'loitering')),

  -- The camera (for a file, the name given to it) and the configured rule, zone and line ids.
  camera text not null,
  rule text not null,
  zone text,
  line text,

  -- When the condition began, and when it was last true (NULL while the event is open).
  start_90k integer not null check (start_90k >= 0),
  end_90k integer check (end_90k is null or end_90k >= start_90k),

  -- The rule's confidence, the highest seen while the event was open.
  confidence real not null check (confidence between 0 and 1),

  -- The region to look at, source pixels; all four or none (checked below).
  x1 real, y1 real, x2 real, y2 real,

  -- What an operator reads, e.g. "2 (person) in zone forecourt".
  detail text not null,

  -- The annotated picture taken when the event started, relative to the run's output folder; NULL if none.
  snapshot text,

  -- The stretch of video an operator needs to judge it (a few seconds before the start to after the end).
  clip_start_90k integer not null check (clip_start_90k >= 0),
  clip_end_90k integer not null check (clip_end_90k >= clip_start_90k),

  check ((x1 is null) = (x2 is null) and (y1 is null) = (y2 is null) and (x1 is null) = (y1 is null)),
  check (x1 is null or (x1 <= x2 and y1 <= y2))
) strict;

create index event_by_run_time on event (run_id, start_90k);

-- The tracks an event involves (the tracker's ids within the event's run).
create table event_track (
  event_id text not null references event (id) on delete cascade,
  track_id integer not null check (track_id > 0),
  primary key (event_id, track_id)
) strict, without rowid;
