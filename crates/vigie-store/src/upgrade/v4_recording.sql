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
