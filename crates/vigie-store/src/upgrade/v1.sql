-- Vigie's schema at version 1, frozen: never edit this file.
--
-- It is not used to create databases (`schema.sql` is); the upgrade tests run it to build a version 1 database,
-- fill it, upgrade it and compare the result with a fresh database from `schema.sql`. Its text is `schema.sql` as
-- it was at version 1 (same conventions, see there).

-- What this database is. Exactly one row.
create table meta (
  -- Always 1, so the table cannot hold a second row.
  id integer primary key check (id = 1),

  -- The schema version this database is at. `Store::open` upgrades a lower one step by step and refuses a higher
  -- one (a newer Vigie wrote it).
  schema_version integer not null check (schema_version >= 1),

  -- A random id (UUID version 4, text form, lower case) drawn when the database was created. A sidecar database
  -- (plates) records it to check that it is paired with this database and not with another one.
  instance_uuid text not null check (length(instance_uuid) = 36),

  -- When the database was created.
  created_unix_ms integer not null
) strict;

-- One analysed source: a video file from start to end, or one session of a live camera.
create table analysis_run (
  -- AUTOINCREMENT so that an id is never reused, even after the run with the highest id is deleted: other
  -- databases (plates) and exported reports refer to runs by this id.
  id integer primary key autoincrement,

  -- What was analysed: the file path as given, or the camera's name or URL with credentials removed.
  source text not null check (source <> ''),

  -- 'file' for a video file, 'camera' for a live camera session.
  source_kind text not null check (source_kind in ('file', 'camera')),

  -- When the analysis started (wall clock).
  started_unix_ms integer not null,

  -- When the analysis ended, NULL while it runs. A run left with NULL here after its process ended was
  -- interrupted (crash, kill, power loss): what it stored up to its last committed batch is kept.
  finished_unix_ms integer check (finished_unix_ms >= started_unix_ms),

  -- The rate frames were sampled at for analysis, in frames per second of media time, as configured; 0 when not
  -- sampled (every decoded frame analysed).
  analysis_fps real not null check (analysis_fps >= 0),

  -- Size of the decoded frames in pixels: the space box coordinates are in.
  width integer not null check (width > 0),
  height integer not null check (height > 0),

  -- The detector model: its file name and the SHA-256 of its content, so that results can be traced to the exact
  -- weights.
  model text not null,

  -- Frames decoded from the source, and the subset of them analysed (detector and tracker run). NULL while the
  -- run is not finished.
  frames_decoded integer check (frames_decoded >= 0),
  frames_analysed integer check (frames_analysed >= 0 and frames_analysed <= frames_decoded),

  -- Wall-clock duration of the analysis, NULL while the run is not finished.
  wall_ms integer check (wall_ms >= 0),

  -- A run is finished with all of its totals at once (`Store::finish_run`), or not at all.
  check ((finished_unix_ms is null) = (frames_decoded is null) and
         (finished_unix_ms is null) = (frames_analysed is null) and
         (finished_unix_ms is null) = (wall_ms is null))
) strict;

-- One tracked object of a run: the tracker's summary of it.
--
-- A track row is final once its class is set (the summary given to `TrackWriter::end_track`). Boxes of a track
-- still being followed can be written before its summary is known (a batch is full, a camera session goes on for
-- hours); the writer then keeps an open row, with class NULL and the other columns computed from the boxes
-- written so far, which the summary replaces. Open rows left behind mean the run was interrupted.
create table track (
  -- The run the track belongs to.
  run_id integer not null references analysis_run (id) on delete cascade,

  -- The tracker's id of the track, unique within a run, from 1.
  track_id integer not null check (track_id > 0),

  -- The class name (a label of the detector, e.g. 'person'), decided by the tracker's score-weighted vote over
  -- the track's detections. NULL while the track is open (see above).
  class text check (class <> ''),

  -- Media time of the track's first and last box.
  first_90k integer not null,
  last_90k integer not null,

  -- Number of frames the track was seen in (the tracker's count); for an open row, the boxes written so far.
  frames integer not null check (frames > 0),

  -- Highest detection score of the track, 0..1.
  max_score real not null check (max_score between 0 and 1),

  -- The track's best box (the one with the highest score), in source pixels, and its media time: where to crop a
  -- snapshot of the object.
  best_x1 real not null,
  best_y1 real not null,
  best_x2 real not null,
  best_y2 real not null,
  best_90k integer not null,

  primary key (run_id, track_id),
  check (last_90k >= first_90k),
  check (best_90k between first_90k and last_90k),
  check (best_x1 <= best_x2 and best_y1 <= best_y2)
) strict;

-- A track's box in each frame it was tracked in: its trajectory.
--
-- By far the largest table (a row per tracked object per analysed frame), hence WITHOUT ROWID: the rows are small
-- and always looked up by their primary key, which this stores them in order of, with no separate rowid b-tree
-- and primary-key index. A track's boxes are contiguous and in time order on disk.
create table track_box (
  -- The track the box belongs to, see `track`.
  run_id integer not null,
  track_id integer not null,

  -- Media time of the frame.
  t_90k integer not null,

  -- The box in source pixels: the matched detection's, or the tracker's prediction when no detection matched.
  x1 real not null,
  y1 real not null,
  x2 real not null,
  y2 real not null,

  -- Score of the matched detection, 0..1; 0 when the box is only the tracker's prediction.
  score real not null check (score between 0 and 1),

  primary key (run_id, track_id, t_90k),
  foreign key (run_id, track_id) references track (run_id, track_id) on delete cascade,
  check (x1 <= x2 and y1 <= y2)
) strict, without rowid;
