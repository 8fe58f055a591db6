-- Vigie's main database: the full current schema, version 9 (`vigie_store::SCHEMA_VERSION`).
--
-- `Store::open` runs this file as is on an empty database, then inserts the one `meta` row. A database created by
-- an older Vigie reaches the same schema through the numbered steps in `src/upgrade/`; a test builds a version 1
-- database, upgrades it and checks that its `sqlite_master` equals the one this file gives (comments and blank
-- space aside). So: change this file only together with a new upgrade step, and keep columns added by an upgrade
-- (`alter table ... add column`) at the end of the column list, where SQLite puts them.
--
-- Conventions:
-- * Units are in column names. `_90k`: media time in units of 1/90 000 s from the start of the source (the frame's
--   presentation time, `Time90k`); for a camera, from the start of the session. `_unix_ms`: wall-clock time in
--   milliseconds since 1970-01-01 00:00 UTC. `_ms` alone: a duration in milliseconds.
-- * Boxes are in source pixels (the decoded frame's size, before any resizing for the detector), REAL, origin top
--   left, x right, y down, with x1 <= x2 and y1 <= y2.
-- * Tables are STRICT: SQLite refuses a value of the wrong type instead of storing it as whatever it is.
-- * NaN and infinities never reach SQLite: the Rust side refuses them (SQLite would silently store NaN as NULL).
-- * Events (version 3) follow the tracks; recording (version 4: cameras, segments, gaps, camera states, legal holds,
--   the deletion log) is at the end of this file. Plate reads live in a separate database file (vigie-plates),
--   with its own schema, key and access, and never refer to this one: the law forbids joining event and plate data.

-- What this database is. Exactly one row.
create table meta (
  -- Always 1, so the table cannot hold a second row.
  id integer primary key check (id = 1),

  -- The schema version this database is at. `Store::open` upgrades a lower one step by step and refuses a higher
  -- one (a newer Vigie wrote it).
  schema_version integer not null check (schema_version >= 1),

  -- A random id (UUID version 4, text form, lower case) drawn when the database was created. What is made from
  -- the database (an export, an audit checkpoint) records it to say which database it came from.
  instance_uuid text not null check (length(instance_uuid) = 36),

  -- When the database was created.
  created_unix_ms integer not null
) strict;

-- One analysed source: a video file from start to end, or one session of a live camera.
create table analysis_run (
  -- AUTOINCREMENT so that an id is never reused, even after the run with the highest id is deleted: other
  -- exported reports and evidence refer to runs by this id.
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

  -- Version 2: the share of the class vote won by `class`, 0..1 (1: every detection agreed). NULL for tracks
  -- stored before version 2 and for open rows.
  class_confidence real check (class_confidence between 0 and 1),

  primary key (run_id, track_id),
  check (last_90k >= first_90k),
  check (best_90k between first_90k and last_90k),
  check (best_x1 <= best_x2 and best_y1 <= best_y2)
) strict;

-- Version 2: "every car of every run", "the persons of run 12 in time order". Open rows (class NULL) sort first.
create index track_by_class_time on track (class, run_id, first_90k);

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

-- Version 4: recording. A camera's main stream is remuxed (never re-encoded) into MP4 segments of about 60 s, one
-- file each, under the recording directory (`vigie_store::RecordingDir`): one subdirectory per camera, named after
-- it, and in it one file per segment named after its start, `<camera name>/<start_unix_ms>.mp4`.
--
-- Durability, in Moonfire NVR's order (`Store::commit_segment`): the muxer writes the file and fsyncs it; then the
-- store fsyncs the file again (a no-op when it is clean) and its directory, and only then inserts the `recording`
-- row. So a row never points at a file that a crash or a power loss can take away. The converse is allowed: a file
-- without a row is a segment cut short by a crash (or whose row the power loss took), and `Store::reconcile`
-- deletes it at start-up, logging it in `retention_deletion` as an 'orphan'. A row whose file is gone (removed by
-- hand, a disk replaced) is not deleted but flagged (`recording.flags`), so that the loss stays visible.
--
-- Retention (`Store::apply_retention`) deletes the oldest segments beyond an age (at most 30 days: CSI L252-5) or a
-- size budget per camera, except those overlapping an active `legal_hold`; the file first, then the row, each
-- deletion logged in `retention_deletion`, which retention never deletes.
--
-- Wall-clock times are `_unix_ms`; segment lengths are `_90k`, media time on the camera's 90 kHz clock. A segment's
-- end in wall-clock time is taken as `start_unix_ms + duration_90k / 90` (integer division).

-- A recorded camera. Created on first use (`Store::ensure_camera`) and never deleted: its recordings, gaps, states,
-- legal holds and the deletion log refer to it.
create table camera (
  -- AUTOINCREMENT: never reused, so a deletion logged for a camera can never be read as another's.
  id integer primary key autoincrement,

  -- The configured name, also the name of the camera's subdirectory in the recording directory: 1 to 64 ASCII
  -- letters, digits, '_' or '-', not starting with '-' (no '/', no '.', so it can never leave the directory).
  name text not null unique check (length(name) between 1 and 64 and name not glob '*[^A-Za-z0-9_-]*'
                                   and name not glob '-*'),

  -- When the row was created.
  created_unix_ms integer not null
) strict;

-- One recorded segment: an MP4 file of the camera's main stream, remuxed, starting at a key frame.
create table recording (
  -- AUTOINCREMENT: never reused; the API and exported evidence refer to segments by id.
  id integer primary key autoincrement,

  -- The camera recorded.
  camera_id integer not null references camera (id),

  -- Wall-clock time of the segment's first frame (when it was received).
  start_unix_ms integer not null check (start_unix_ms >= 0),

  -- Length of the segment in media time: the sum of its frames' durations. At least 1 ms (so that a segment's end
  -- is after its start) and at most one hour (a segment is about 60 s; the bound lets a time-range query use
  -- `recording_by_camera_start` from both sides).
  duration_90k integer not null check (duration_90k between 90 and 324000000),

  -- Frames (access units) in the segment.
  frames integer not null check (frames > 0),

  -- Size of the file in bytes, measured by `Store::commit_segment` after the fsync.
  bytes integer not null check (bytes > 0),

  -- The video codec, remuxed as received: 'h264' or 'h265' (`vigie_core::VideoCodec`).
  codec text not null check (codec in ('h264', 'h265')),

  -- Coded picture size in pixels, from the stream's parameter sets.
  width integer not null check (width > 0),
  height integer not null check (height > 0),

  -- The file, relative to the recording directory: `<camera name>/<start_unix_ms>.mp4`.
  relative_path text not null unique check (relative_path glob '?*/?*.mp4'),

  -- SHA-256 of the file's content, 32 bytes, when the muxer computed it while writing; NULL otherwise.
  sha256 blob check (length(sha256) = 32),

  -- Bit set. 1 (missing_file): `Store::reconcile` found no file for this row. The row is kept so that the loss
  -- stays visible (and the time range shows as lost, not as never recorded); reconcile clears the bit if the file
  -- comes back (a disk remounted). Other bits are refused until a version defines them.
  flags integer not null default 0 check ((flags & ~1) = 0)
) strict;

-- A camera's segments in time order: playback, time-range queries, retention (oldest first).
create unique index recording_by_camera_start on recording (camera_id, start_unix_ms);

-- A stretch of time a camera should have recorded and did not (camera unreachable, stream stalled, disk full).
-- Raised to operators as a camera alert.
create table recording_gap (
  id integer primary key autoincrement,

  -- The camera that did not record.
  camera_id integer not null references camera (id),

  -- The gap: from the end of the last recorded frame to the start of the next one (or to when it was noticed).
  from_unix_ms integer not null,
  to_unix_ms integer not null check (to_unix_ms > from_unix_ms),

  -- Why, for an operator: e.g. 'stream stalled', 'connection refused', 'disk full'.
  reason text not null check (reason <> '')
) strict;

create index recording_gap_by_camera_time on recording_gap (camera_id, from_unix_ms);

-- A camera's health over time: one row per change of state (not per poll).
create table camera_state (
  id integer primary key autoincrement,

  -- The camera.
  camera_id integer not null references camera (id),

  -- 'connecting' (opening the stream, or reconnecting with backoff), 'streaming' (frames arriving), 'stalled' (no
  -- frame for the stall timeout although connected), 'failed' (gave up until the configuration changes).
  state text not null check (state in ('connecting', 'streaming', 'stalled', 'failed')),

  -- When the camera entered the state.
  at_unix_ms integer not null,

  -- What an operator reads: the error, the reconnect attempt; NULL when there is nothing to add.
  detail text check (detail <> '')
) strict;

create index camera_state_by_camera_time on camera_state (camera_id, at_unix_ms);

-- A legal hold (a judicial request): the camera's recordings overlapping the time range are exempt from retention
-- while the hold is active, whatever their age. Released, never deleted: the row records that the hold existed.
create table legal_hold (
  id integer primary key autoincrement,

  -- The camera whose recordings are held.
  camera_id integer not null references camera (id),

  -- The time range held; a segment overlapping it in any part is held whole.
  from_unix_ms integer not null,
  to_unix_ms integer not null check (to_unix_ms > from_unix_ms),

  -- The request's reference (case number, requisition), as the operator entered it. Not blank.
  reference text not null check (trim(reference) <> ''),

  -- When the hold was placed, and when it was released (NULL: active).
  created_unix_ms integer not null,
  released_unix_ms integer check (released_unix_ms >= created_unix_ms)
) strict;

-- What retention and start-up reconcile deleted: one row per file deleted. Never deleted by retention: this is the
-- record that footage was destroyed, when and why.
create table retention_deletion (
  id integer primary key autoincrement,

  -- The camera the segment belonged to.
  camera_id integer not null references camera (id),

  -- The deleted segment's `recording.id`; NULL for an orphan, which never had a row.
  recording_id integer,

  -- The deleted file, relative to the recording directory.
  relative_path text not null check (relative_path <> ''),

  -- The time range it covered. For an orphan, the start is read from its file name and the end is unknown (NULL).
  start_unix_ms integer not null,
  end_unix_ms integer check (end_unix_ms >= start_unix_ms),

  -- Size of the file in bytes: the recorded size for a segment, the size found for an orphan.
  bytes integer not null check (bytes >= 0),

  -- 'age' (older than the retention period), 'size' (beyond the camera's size budget), 'orphan' (a file without a
  -- row, found by `Store::reconcile`: a segment cut short by a crash).
  reason text not null check (reason in ('age', 'size', 'orphan')),

  -- When it was deleted.
  at_unix_ms integer not null,

  -- A segment deleted by retention had a row and a known end; an orphan had neither.
  check ((reason = 'orphan') = (recording_id is null) and (reason = 'orphan') = (end_unix_ms is null))
) strict;

create index retention_deletion_by_camera_time on retention_deletion (camera_id, at_unix_ms);

-- Version 5: the console (issue 6, design/0003-console-api.md). Accounts, their sessions, and the operators'
-- decisions on events. Passwords are only ever stored as argon2id hashes; session tokens only as their SHA-256.

-- An account of the console. Never deleted (decisions and, later, the audit log refer to it by name): disabled.
create table app_user (
  id integer primary key autoincrement,

  -- The login name: 1 to 64 ASCII letters, digits, '_', '-', '.' or '@'.
  username text not null unique check (length(username) between 1 and 64
                                       and username not glob '*[^A-Za-z0-9_.@-]*'),

  -- The password as an argon2id hash in PHC string form ('$argon2id$v=19$m=...,t=...,p=...$salt$hash').
  password_hash text not null check (password_hash glob '$argon2id$*'),

  -- The one role of the user; what each may do is the permission matrix of design/0003-console-api.md.
  role text not null check (role in ('operator', 'supervisor', 'investigator', 'parking_agent', 'auditor', 'admin')),

  -- The cameras the user may see, a JSON array of camera names; NULL: every camera.
  cameras text check (cameras is null or json_valid(cameras) and json_type(cameras) = 'array'),

  -- 1: the account may no longer log in (its sessions are refused too). 0: active.
  disabled integer not null default 0 check (disabled in (0, 1)),

  -- When the account was created.
  created_unix_ms integer not null
) strict;

-- A logged-in browser. The cookie carries a random token; only its SHA-256 is stored, so a copy of the database
-- does not let anyone log in.
create table session (
  -- SHA-256 of the session token, 32 bytes.
  token_sha256 blob primary key check (length(token_sha256) = 32),

  -- The user logged in.
  user_id integer not null references app_user (id),

  -- When the session was created, and when it expires (renewed on use after half of its life).
  created_unix_ms integer not null,
  expires_unix_ms integer not null check (expires_unix_ms > created_unix_ms),

  -- The anti-CSRF token the browser sends back in header X-CSRF-Token on every state-changing request.
  csrf_token text not null check (length(csrf_token) >= 32)
) strict;

create index session_by_user on session (user_id);

-- An operator's decision on an event: confirmed (a real situation) or dismissed (a false alarm, with the reason).
-- One per event, never changed: they feed the accuracy figures.
create table event_decision (
  -- The event decided.
  event_id text primary key references event (id),

  -- 'confirm' or 'dismiss'.
  decision text not null check (decision in ('confirm', 'dismiss')),

  -- Why, as the operator chose or wrote it ("false alarm: shadow", ...). Required to dismiss; may be empty to
  -- confirm.
  reason text not null check (decision = 'confirm' or trim(reason) <> ''),

  -- The user who decided (the name, kept even if the account is later disabled).
  username text not null check (username <> ''),

  -- When.
  at_unix_ms integer not null
) strict;

create index event_decision_by_time on event_decision (at_unix_ms);

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
  closed_unix_ms integer check (closed_unix_ms >= created_unix_ms),

  -- Version 9: whether the judicial order of the case allows plate searches (1) or not (0, the default): plate
  -- reads live in their own database (`plates.db` of vigie-plates; legal.md: kept apart, with separate access), and
  -- only a case that says so may search them (`vigie search --plate`, `GET /api/cases/{reference}/search?plate=`).
  -- Set when the case is opened (`vigie case open --plates`), never changed afterwards.
  plates_allowed integer not null default 0 check (plates_allowed in (0, 1))
) strict;

-- Version 8: fast case-gated search (issue 8: p95 <= 100 ms over 10 million tracks, `vigie bench search`) and the
-- exports of a case, which expire with it.
--
-- `Store::search_tracks` walks, for each camera of the case, the runs of that camera that started before the
-- window's end (`run_camera_by_camera`), then in each run the tracks of the window, in media time (the bounds are
-- computed from the run's `media_zero_unix_ms`, so they are ranges on indexed columns, never expressions of the
-- row), in two disjoint parts that each read a bounded range however long the run (a live session may last weeks):
-- tracks of at most 30 minutes, which start at most 30 minutes before the window (`track_by_run_first`), and the
-- few longer ones, which end after the window's start (`track_long_by_run_last`, partial: 162000000 is 30 minutes
-- at 90 kHz, written as the query writes it). `last_90k` and `first_90k` are in the indexes so that tracks outside
-- the window are skipped without reading the row.
create index track_by_run_first on track (run_id, first_90k, last_90k);
create index track_long_by_run_last on track (run_id, last_90k, first_90k) where last_90k - first_90k > 162000000;

-- "Tracks an event in zone Z (or on line L) involved": per candidate track, the events of its run in that zone,
-- then `event_track`'s primary key. Partial: most events have no line, many no zone.
create index event_by_run_zone on event (run_id, zone) where zone is not null;
create index event_by_run_line on event (run_id, line) where line is not null;

-- An export made inside a case (`vigie export`, `vigie synopsis`): its folder and files, expiring with the case.
-- The retention pass (`Store::apply_retention`) deletes the files of every export whose case has expired (at most 3
-- years after it was opened, `review_case.expires_unix_ms`), then its folder if that leaves it empty, and records
-- when (`deleted_unix_ms`): the row stays as the record that the export existed and was destroyed. A closed case's
-- exports are kept until its expiry (a court may still need them).
create table case_export (
  id integer primary key autoincrement,

  -- The case it was made in.
  case_id integer not null references review_case (id),

  -- The export's folder, as written (absolute, or relative to where `vigie export` ran).
  path text not null check (path <> ''),

  -- When it was made.
  made_unix_ms integer not null,

  -- The files it wrote in the folder (plain names), a JSON array: retention deletes these and nothing else.
  files text not null check (json_valid(files) and json_type(files) = 'array'),

  -- When retention deleted the folder; NULL while it is kept.
  deleted_unix_ms integer check (deleted_unix_ms >= made_unix_ms)
) strict;

create index case_export_by_case on case_export (case_id);
