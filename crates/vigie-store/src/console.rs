//! The console's accounts, sessions and event decisions (schema version 5, design/0003-console-api.md).
//!
//! This module stores what it is given: hashing passwords (argon2id) and drawing tokens is the server's business.
//! Session tokens arrive here already hashed (SHA-256).

use rusqlite::{OptionalExtension, params};
use vigie_core::{BBox, Result, Time90k, err};

use crate::{SqlResultExt, Store, is_valid_camera_name, write_transaction};

/// The roles of design/0003-console-api.md; the schema's CHECK refuses any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Operator,
    Supervisor,
    Investigator,
    ParkingAgent,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Operator,
        Role::Supervisor,
        Role::Investigator,
        Role::ParkingAgent,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Investigator => "investigator",
            Role::ParkingAgent => "parking_agent",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role named `s`, or an [`vigie_core::ErrorKind::InvalidArgument`] error listing the roles.
    pub fn parse(s: &str) -> Result<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            err!(
                InvalidArgument,
                "unknown role {s:?}: one of operator, supervisor, investigator, parking_agent, auditor, admin"
            )
        })
    }
}

/// An account to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    /// argon2id, PHC string form.
    pub password_hash: String,
    pub role: Role,
    /// The cameras the user may see; `None`: all.
    pub cameras: Option<Vec<String>>,
}

/// An account as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub cameras: Option<Vec<String>>,
    pub disabled: bool,
    pub created_unix_ms: i64,
}

impl UserRow {
    /// Whether the user may see `camera`.
    pub fn may_see(&self, camera: &str) -> bool {
        self.cameras.as_ref().is_none_or(|c| c.iter().any(|n| n == camera))
    }
}

/// A session as stored (its token hash aside).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub user_id: i64,
    pub created_unix_ms: i64,
    pub expires_unix_ms: i64,
    pub csrf_token: String,
}

/// An operator's decision on an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Dismiss,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Dismiss => "dismiss",
        }
    }
}

/// A decision as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRow {
    pub event_id: String,
    pub decision: Decision,
    pub reason: String,
    pub username: String,
    pub at_unix_ms: i64,
}

/// An event as the console shows it: the stored row, its wall-clock times and its decision.
#[derive(Clone, Debug, PartialEq)]
pub struct EventView {
    pub id: String,
    pub kind: String,
    pub camera: String,
    pub rule: String,
    pub zone: Option<String>,
    pub line: Option<String>,
    /// `analysis_run.started_unix_ms` + `start_90k` / 90.
    pub start_unix_ms: i64,
    pub end_unix_ms: Option<i64>,
    pub start: Time90k,
    pub end: Option<Time90k>,
    pub confidence: f32,
    pub bbox: Option<BBox>,
    pub detail: String,
    pub snapshot: Option<String>,
    pub run_id: i64,
    pub clip_start: Time90k,
    pub clip_end: Time90k,
    pub decision: Option<DecisionRow>,
}

/// Which events [`Store::event_views`] returns.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Only these cameras; `None`: all.
    pub cameras: Option<Vec<String>>,
    /// None: all; Some(None): undecided; Some(Some(d)): decided so.
    pub decided: Option<Option<Decision>>,
    pub limit: u32,
}

fn check_username(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    if !ok {
        return Err(err!(
            InvalidArgument,
            "user name {name:?}: 1 to 64 ASCII letters, digits, '_', '-', '.' or '@'"
        ));
    }
    Ok(())
}

fn user_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    let role: String = r.get(3)?;
    let cameras: Option<String> = r.get(4)?;
    let conv =
        |i: usize, e: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into());
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        role: Role::parse(&role).map_err(|e| conv(3, e.to_string()))?,
        cameras: match cameras {
            None => None,
            Some(j) => Some(serde_json::from_str(&j).map_err(|e| conv(4, e.to_string()))?),
        },
        disabled: r.get::<_, i64>(5)? != 0,
        created_unix_ms: r.get(6)?,
    })
}

const USER_COLUMNS: &str = "id, username, password_hash, role, cameras, disabled, created_unix_ms";

fn decision_of(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<DecisionRow>> {
    let d: Option<String> = r.get(i)?;
    let Some(d) = d else { return Ok(None) };
    Ok(Some(DecisionRow {
        event_id: r.get(0)?,
        decision: if d == "confirm" {
            Decision::Confirm
        } else {
            Decision::Dismiss
        },
        reason: r.get(i + 1)?,
        username: r.get(i + 2)?,
        at_unix_ms: r.get(i + 3)?,
    }))
}

const EVENT_VIEW_SQL: &str =
    "select e.id, e.kind, e.camera, e.rule, e.zone, e.line, e.start_90k, e.end_90k, e.confidence,
        e.x1, e.y1, e.x2, e.y2, e.detail, e.snapshot, e.run_id, e.clip_start_90k, e.clip_end_90k,
        r.started_unix_ms + e.start_90k / 90 as start_unix_ms,
        d.decision, d.reason, d.username, d.at_unix_ms
 from event e join analysis_run r on r.id = e.run_id left join event_decision d on d.event_id = e.id";

fn event_view_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventView> {
    let x1: Option<f32> = r.get(9)?;
    let bbox = match x1 {
        Some(x1) => Some(BBox {
            x1,
            y1: r.get(10)?,
            x2: r.get(11)?,
            y2: r.get(12)?,
        }),
        None => None,
    };
    let start = Time90k(r.get(6)?);
    let end = r.get::<_, Option<i64>>(7)?.map(Time90k);
    let start_unix_ms: i64 = r.get(18)?;
    let run_start = start_unix_ms - start.0 / 90;
    Ok(EventView {
        id: r.get(0)?,
        kind: r.get(1)?,
        camera: r.get(2)?,
        rule: r.get(3)?,
        zone: r.get(4)?,
        line: r.get(5)?,
        start_unix_ms,
        end_unix_ms: end.map(|e| run_start + e.0 / 90),
        start,
        end,
        confidence: r.get(8)?,
        bbox,
        detail: r.get(13)?,
        snapshot: r.get(14)?,
        run_id: r.get(15)?,
        clip_start: Time90k(r.get(16)?),
        clip_end: Time90k(r.get(17)?),
        decision: decision_of(r, 19)?,
    })
}

impl Store {
    /// Creates an account; the user name must be new (an [`vigie_core::ErrorKind::InvalidArgument`] error
    /// otherwise) and every camera name valid.
    pub fn create_user(&mut self, u: &NewUser, now_unix_ms: i64) -> Result<i64> {
        check_username(&u.username)?;
        if let Some(c) = &u.cameras
            && let Some(bad) = c.iter().find(|n| !is_valid_camera_name(n))
        {
            return Err(err!(InvalidArgument, "camera name {bad:?} is not valid"));
        }
        let what = || format!("creating user {}", u.username);
        let cameras = match &u.cameras {
            Some(c) => Some(serde_json::to_string(c).map_err(|e| err!(Internal, "{}: {e}", what()))?),
            None => None,
        };
        let tx = write_transaction(&mut self.conn, "creating a user")?;
        let exists: bool = tx
            .query_row(
                "select count(*) > 0 from app_user where username = ?",
                [&u.username],
                |r| r.get(0),
            )
            .sql(what)?;
        if exists {
            return Err(err!(InvalidArgument, "user {} already exists", u.username));
        }
        tx.execute(
            "insert into app_user (username, password_hash, role, cameras, disabled, created_unix_ms)
             values (?, ?, ?, ?, 0, ?)",
            params![u.username, u.password_hash, u.role.as_str(), cameras, now_unix_ms],
        )
        .sql(what)?;
        let id = tx.last_insert_rowid();
        tx.commit().sql(what)?;
        Ok(id)
    }

    /// The account named `username`, disabled or not.
    pub fn user_by_name(&self, username: &str) -> Result<Option<UserRow>> {
        self.conn
            .query_row(
                &format!("select {USER_COLUMNS} from app_user where username = ?"),
                [username],
                user_of,
            )
            .optional()
            .sql(|| format!("reading user {username}"))
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<UserRow>> {
        let what = || "reading the users".to_owned();
        let mut st = self
            .conn
            .prepare(&format!("select {USER_COLUMNS} from app_user order by username"))
            .sql(what)?;
        st.query_map([], user_of)
            .sql(what)?
            .collect::<rusqlite::Result<_>>()
            .sql(what)
    }

    /// How many accounts exist (disabled ones included).
    pub fn user_count(&self) -> Result<i64> {
        self.conn
            .query_row("select count(*) from app_user", [], |r| r.get(0))
            .sql(|| "counting the users".into())
    }

    /// Disables (or enables) an account and, when disabling, ends its sessions. False if there is no such user.
    pub fn set_user_disabled(&mut self, username: &str, disabled: bool) -> Result<bool> {
        let what = || format!("disabling user {username}");
        let tx = write_transaction(&mut self.conn, "disabling a user")?;
        let n = tx
            .execute(
                "update app_user set disabled = ? where username = ?",
                params![disabled as i64, username],
            )
            .sql(what)?;
        if disabled {
            tx.execute(
                "delete from session where user_id in (select id from app_user where username = ?)",
                [username],
            )
            .sql(what)?;
        }
        tx.commit().sql(what)?;
        Ok(n > 0)
    }

    /// Stores a new session. `token_sha256` is the SHA-256 of the cookie's token.
    pub fn create_session(&mut self, token_sha256: &[u8; 32], s: &SessionRow) -> Result<()> {
        self.conn
            .execute(
                "insert into session (token_sha256, user_id, created_unix_ms, expires_unix_ms, csrf_token)
                 values (?, ?, ?, ?, ?)",
                params![
                    &token_sha256[..],
                    s.user_id,
                    s.created_unix_ms,
                    s.expires_unix_ms,
                    s.csrf_token
                ],
            )
            .sql(|| "creating a session".into())?;
        Ok(())
    }

    /// The session of a token hash and its (enabled) user, if the session exists and has not expired at `now`.
    pub fn session(&self, token_sha256: &[u8; 32], now_unix_ms: i64) -> Result<Option<(SessionRow, UserRow)>> {
        self.conn
            .query_row(
                "select u.id, u.username, u.password_hash, u.role, u.cameras, u.disabled, u.created_unix_ms,
                        s.created_unix_ms, s.expires_unix_ms, s.csrf_token
                 from session s join app_user u on u.id = s.user_id
                 where s.token_sha256 = ? and s.expires_unix_ms > ? and u.disabled = 0",
                params![&token_sha256[..], now_unix_ms],
                |r| {
                    let u = user_of(r)?;
                    Ok((
                        SessionRow {
                            user_id: u.id,
                            created_unix_ms: r.get(7)?,
                            expires_unix_ms: r.get(8)?,
                            csrf_token: r.get(9)?,
                        },
                        u,
                    ))
                },
            )
            .optional()
            .sql(|| "reading a session".into())
    }

    /// Moves a session's expiry.
    pub fn renew_session(&mut self, token_sha256: &[u8; 32], expires_unix_ms: i64) -> Result<()> {
        self.conn
            .execute(
                "update session set expires_unix_ms = ? where token_sha256 = ?",
                params![expires_unix_ms, &token_sha256[..]],
            )
            .sql(|| "renewing a session".into())?;
        Ok(())
    }

    /// Ends a session (logout).
    pub fn delete_session(&mut self, token_sha256: &[u8; 32]) -> Result<()> {
        self.conn
            .execute("delete from session where token_sha256 = ?", [&token_sha256[..]])
            .sql(|| "ending a session".into())?;
        Ok(())
    }

    /// Deletes the sessions expired at `now`; returns how many.
    pub fn delete_expired_sessions(&mut self, now_unix_ms: i64) -> Result<usize> {
        self.conn
            .execute("delete from session where expires_unix_ms <= ?", [now_unix_ms])
            .sql(|| "deleting expired sessions".into())
    }

    /// Records the one decision on an event. `Ok(false)` when the event already has one (nothing changes); a
    /// [`vigie_core::ErrorKind::NotFound`] error when the event does not exist; InvalidArgument when dismissing
    /// without a reason.
    pub fn decide_event(&mut self, d: &DecisionRow) -> Result<bool> {
        if d.decision == Decision::Dismiss && d.reason.trim().is_empty() {
            return Err(err!(InvalidArgument, "a reason is required to dismiss an event"));
        }
        let what = || format!("recording the decision on event {}", d.event_id);
        let tx = write_transaction(&mut self.conn, "recording a decision")?;
        let exists: bool = tx
            .query_row("select count(*) > 0 from event where id = ?", [&d.event_id], |r| {
                r.get(0)
            })
            .sql(what)?;
        if !exists {
            return Err(err!(NotFound, "no event {}", d.event_id));
        }
        let n = tx
            .execute(
                "insert or ignore into event_decision (event_id, decision, reason, username, at_unix_ms)
                 values (?, ?, ?, ?, ?)",
                params![d.event_id, d.decision.as_str(), d.reason, d.username, d.at_unix_ms],
            )
            .sql(what)?;
        tx.commit().sql(what)?;
        Ok(n == 1)
    }

    /// One event with its wall-clock times and decision.
    pub fn event_view(&self, id: &str) -> Result<Option<EventView>> {
        self.conn
            .query_row(&format!("{EVENT_VIEW_SQL} where e.id = ?"), [id], event_view_of)
            .optional()
            .sql(|| format!("reading event {id}"))
    }

    /// Events newest first (by wall-clock start), filtered.
    pub fn event_views(&self, f: &EventFilter) -> Result<Vec<EventView>> {
        let what = || "reading events".to_owned();
        let mut sql = format!("{EVENT_VIEW_SQL} where 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(c) = &f.cameras {
            let json = serde_json::to_string(c).map_err(|e| err!(Internal, "{}: {e}", what()))?;
            sql.push_str(" and e.camera in (select value from json_each(?))");
            args.push(json.into());
        }
        match f.decided {
            None => {}
            Some(None) => sql.push_str(" and d.decision is null"),
            Some(Some(d)) => {
                sql.push_str(" and d.decision = ?");
                args.push(d.as_str().to_owned().into());
            }
        }
        sql.push_str(" order by start_unix_ms desc, e.id desc limit ?");
        args.push(i64::from(f.limit).into());
        let mut st = self.conn.prepare(&sql).sql(what)?;
        st.query_map(rusqlite::params_from_iter(args), event_view_of)
            .sql(what)?
            .collect::<rusqlite::Result<_>>()
            .sql(what)
    }

    /// The tracks an event involves.
    pub fn event_track_ids(&self, id: &str) -> Result<Vec<i64>> {
        let what = || format!("reading the tracks of event {id}");
        let mut st = self
            .conn
            .prepare("select track_id from event_track where event_id = ? order by track_id")
            .sql(what)?;
        st.query_map([id], |r| r.get(0))
            .sql(what)?
            .collect::<rusqlite::Result<_>>()
            .sql(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventRow, NewRun, SourceKind};

    fn user(name: &str, role: Role, cameras: Option<Vec<String>>) -> NewUser {
        NewUser {
            username: name.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role,
            cameras,
        }
    }

    #[test]
    fn users_sessions_and_decisions_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(s.user_count().unwrap(), 0);
        let id = s
            .create_user(&user("ana", Role::Operator, Some(vec!["gate".into()])), 5)
            .unwrap();
        assert!(
            s.create_user(&user("ana", Role::Admin, None), 6).is_err(),
            "names are unique"
        );
        assert!(s.create_user(&user("bad name", Role::Admin, None), 6).is_err());
        let u = s.user_by_name("ana").unwrap().unwrap();
        assert_eq!(u.role, Role::Operator);
        assert!(u.may_see("gate") && !u.may_see("hall"));
        let h = [7u8; 32];
        let csrf = "c".repeat(43);
        s.create_session(
            &h,
            &SessionRow {
                user_id: id,
                created_unix_ms: 10,
                expires_unix_ms: 100,
                csrf_token: csrf.clone(),
            },
        )
        .unwrap();
        assert_eq!(s.session(&h, 50).unwrap().unwrap().0.csrf_token, csrf);
        assert!(s.session(&h, 100).unwrap().is_none(), "expired");
        s.renew_session(&h, 200).unwrap();
        assert!(s.session(&h, 150).unwrap().is_some());
        assert!(s.set_user_disabled("ana", true).unwrap());
        assert!(s.session(&h, 150).unwrap().is_none(), "a disabled user's sessions end");

        let run = s
            .begin_run(&NewRun {
                source: "cam".into(),
                source_kind: SourceKind::Camera,
                started_unix_ms: 1_000_000,
                analysis_fps: 5.0,
                width: 64,
                height: 48,
                model: "m".into(),
            })
            .unwrap();
        s.save_event(
            run,
            &EventRow {
                id: "ev-0123456789abcdef".into(),
                kind: "intrusion".into(),
                camera: "gate".into(),
                rule: "r".into(),
                zone: None,
                line: None,
                start: Time90k(90_000),
                end: Some(Time90k(180_000)),
                confidence: 0.5,
                bbox: None,
                detail: "d".into(),
                snapshot: None,
                clip_start: Time90k(0),
                clip_end: Time90k(200_000),
                track_ids: vec![],
            },
        )
        .unwrap();
        let v = s.event_view("ev-0123456789abcdef").unwrap().unwrap();
        assert_eq!(v.start_unix_ms, 1_001_000);
        assert_eq!(v.end_unix_ms, Some(1_002_000));
        let mut d = DecisionRow {
            event_id: v.id.clone(),
            decision: Decision::Dismiss,
            reason: " ".into(),
            username: "ana".into(),
            at_unix_ms: 9,
        };
        assert!(s.decide_event(&d).is_err(), "a dismissal needs a reason");
        d.reason = "false alarm: shadow".into();
        assert!(s.decide_event(&d).unwrap());
        assert!(!s.decide_event(&d).unwrap(), "one decision per event");
        let f = EventFilter {
            cameras: Some(vec!["gate".into()]),
            decided: Some(Some(Decision::Dismiss)),
            limit: 10,
        };
        assert_eq!(s.event_views(&f).unwrap().len(), 1);
        let f = EventFilter {
            decided: Some(None),
            limit: 10,
            ..Default::default()
        };
        assert!(s.event_views(&f).unwrap().is_empty());
        let f = EventFilter {
            cameras: Some(vec!["hall".into()]),
            limit: 10,
            ..Default::default()
        };
        assert!(s.event_views(&f).unwrap().is_empty());
        d.event_id = "ev-ffffffffffffffff".into();
        assert_eq!(s.decide_event(&d).unwrap_err().kind(), vigie_core::ErrorKind::NotFound);
    }
}
