
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
