
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
