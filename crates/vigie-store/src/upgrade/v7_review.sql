
-- Version 7: review assistance (issue 8, design: ARCHITECTURE.md). Cases gate every search and export; vehicle
-- colours and the camera and wall-clock time of a run make stored tracks searchable. No table here describes a
-- person's appearance: colours are computed and stored for vehicle tracks only.

-- The camera a run saw and the wall-clock time of its media time 0: a track's wall-clock time is
-- `media_zero_unix_ms + first_90k / 90`. One row per run that has one (runs stored before version 7 have none and
-- are not searchable).
create table run_camera (
  run_id integer primary key references analysis_run (id) on delete cascade,

  -- The camera's name (for a file, the name given to it: `[events] camera` or the file's stem).
  camera text not null check (camera <> ''),

  -- Wall-clock time of the run's media time 0.
  media_zero_unix_ms integer not null,

  -- The folder the run wrote its report and snapshots to (`snapshots/track-NNNN-<class>.jpg`), as given; NULL
  -- when it wrote none (a live camera session).
  output_dir text check (output_dir <> '')
) strict;

create index run_camera_by_camera on run_camera (camera, media_zero_unix_ms);

-- The named colour of a vehicle track (car, bus, truck, motorcycle), from HSV statistics of the body in its best
-- crop (`vigie_vision::vehicle_colour`). Never for a person.
create table track_colour (
  run_id integer not null,
  track_id integer not null,

  -- One of the named colours.
  colour text not null check (colour in ('white', 'black', 'grey', 'silver', 'red', 'blue', 'green', 'yellow',
                                         'orange', 'brown', 'beige')),

  -- The share of the body's pixel votes the colour won, 0..1.
  share real not null check (share between 0 and 1),

  primary key (run_id, track_id),
  foreign key (run_id, track_id) references track (run_id, track_id) on delete cascade
) strict, without rowid;

create index track_colour_by_colour on track_colour (colour, run_id);

-- A review case (judicial request): searches and exports happen only inside an open, unexpired case, over its
-- cameras and time window. Closed, never deleted: the row records that the case existed.
create table review_case (
  id integer primary key autoincrement,

  -- The case reference (procedure number), unique; 1 to 128 characters, not blank.
  reference text not null unique check (trim(reference) <> '' and length(reference) <= 128),

  -- The authority that authorised it (magistrate, court, officer in charge), as entered. Not blank.
  authority text not null check (trim(authority) <> ''),

  -- The cameras covered, a non-empty JSON array of camera names.
  cameras text not null check (json_valid(cameras) and json_type(cameras) = 'array'
                               and json_array_length(cameras) > 0),

  -- The time window covered (wall clock).
  from_unix_ms integer not null,
  to_unix_ms integer not null check (to_unix_ms > from_unix_ms),

  -- The investigators on the case, a non-empty JSON array of account names.
  investigators text not null check (json_valid(investigators) and json_type(investigators) = 'array'
                                     and json_array_length(investigators) > 0),

  -- Who opened it, and when.
  opened_by text not null check (opened_by <> ''),
  created_unix_ms integer not null,

  -- When it expires: at most 3 years (1096 days) after it was opened. Results and exports expire with it.
  expires_unix_ms integer not null check (expires_unix_ms > created_unix_ms
                                          and expires_unix_ms <= created_unix_ms + 94694400000),

  -- When it was closed; NULL while open.
  closed_unix_ms integer check (closed_unix_ms >= created_unix_ms)
) strict;
