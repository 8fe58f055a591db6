//! The console API in process (design/0003-console-api.md): the role × route matrix, sessions, CSRF, the login
//! rate limit, bad bodies, camera scoping, decisions, the event stream. A real SQLite file, the router driven with
//! `tower::ServiceExt::oneshot`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vigie_core::{BBox, RgbFrame, Time90k};
use vigie_server::api::{self, Api, Perm, auth};
use vigie_server::http::AppState;
use vigie_server::live::{CameraHandle, LiveFrame, LiveObject};
use vigie_server::metrics::Metrics;
use vigie_store::{EventRow, NewRun, NewUser, Role, SourceKind};

const PASSWORD: &str = "correct horse battery";
const EVENT_GATE: &str = "ev-00000000000000a1";
const EVENT_HALL: &str = "ev-00000000000000b2";

struct Env {
    app: Router,
    api: Arc<Api>,
    cameras: Arc<Vec<CameraHandle>>,
    _dir: tempfile::TempDir,
}

fn env_with(tune: impl FnOnce(&mut Api)) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let db: PathBuf = dir.path().join("vigie.db");
    let snapshots = dir.path().join("snapshots");
    let names = vec!["gate".to_owned(), "hall".to_owned()];
    let metrics = Arc::new(Metrics::new(&names, 0));
    let cameras: Vec<CameraHandle> = names
        .iter()
        .map(|n| {
            let m = metrics.camera(n).cloned().expect("metrics");
            CameraHandle::new(n, m, vigie_rules::RulesConfig::default(), false).0
        })
        .collect();
    let mut api = Api::open(&db, snapshots.clone()).expect("api");
    tune(&mut api);
    let api = Arc::new(api);
    api.with_store(|s| {
        let run = s.begin_run(&NewRun {
            source: "gate".into(),
            source_kind: SourceKind::Camera,
            started_unix_ms: 1_700_000_000_000,
            analysis_fps: 5.0,
            width: 64,
            height: 48,
            model: "m".into(),
        })?;
        for (id, cam) in [(EVENT_GATE, "gate"), (EVENT_HALL, "hall")] {
            s.save_event(run, &event(id, cam))?;
        }
        Ok(())
    })
    .expect("events");
    std::fs::create_dir_all(snapshots.join("gate")).expect("mkdir");
    std::fs::write(snapshots.join(format!("gate/{EVENT_GATE}.jpg")), b"\xff\xd8jpeg").expect("snapshot");
    let cameras = Arc::new(cameras);
    let state = AppState {
        metrics,
        cameras: cameras.clone(),
        labels: Arc::new(vec!["person".into(), "car".into()]),
        stale_after_s: 5.0,
        now_unix_ms: vigie_server::unix_ms,
        api: Some(api.clone()),
    };
    Env {
        app: vigie_server::http::router(state),
        api,
        cameras,
        _dir: dir,
    }
}

fn env() -> Env {
    env_with(|_| {})
}

fn event(id: &str, camera: &str) -> EventRow {
    EventRow {
        id: id.into(),
        kind: "intrusion".into(),
        camera: camera.into(),
        rule: "r".into(),
        zone: Some("z".into()),
        line: None,
        start: Time90k(90_000),
        end: None,
        confidence: 0.7,
        bbox: Some(BBox::new(1.0, 2.0, 3.0, 4.0)),
        detail: "1 (person) in zone z".into(),
        snapshot: Some(format!("{camera}/{id}.jpg")),
        clip_start: Time90k(0),
        clip_end: Time90k(180_000),
        track_ids: vec![],
    }
}

fn add_user(e: &Env, name: &str, role: Role, cameras: Option<Vec<&str>>) {
    let hash = auth::hash_password(PASSWORD).expect("hash");
    e.api
        .with_store(|s| {
            s.create_user(
                &NewUser {
                    username: name.into(),
                    password_hash: hash,
                    role,
                    cameras: cameras.map(|c| c.into_iter().map(String::from).collect()),
                },
                1,
            )
        })
        .expect("user");
}

/// A logged-in client: the cookie and the CSRF token.
#[derive(Clone, Default)]
struct Client {
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Resp {
    let r = app.clone().oneshot(req).await.expect("infallible");
    let status = r.status();
    let headers = r.headers().clone();
    let body = if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    {
        Vec::new() // a stream: never read to its end here
    } else {
        r.into_body().collect().await.expect("body").to_bytes().to_vec()
    };
    Resp { status, headers, body }
}

fn request(c: &Client, method: Method, path: &str, body: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(k) = &c.cookie {
        b = b.header(header::COOKIE, k);
    }
    if let Some(t) = &c.csrf {
        b = b.header("X-CSRF-Token", t);
    }
    match body {
        Some(j) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(j.to_owned())),
        None => b.body(Body::empty()),
    }
    .expect("request")
}

async fn call(app: &Router, c: &Client, method: Method, path: &str, body: Option<&str>) -> Resp {
    send(app, request(c, method, path, body)).await
}

async fn login(app: &Router, user: &str, password: &str) -> (Resp, Client) {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let r = call(app, &Client::default(), Method::POST, "/api/login", Some(&body)).await;
    let cookie = r
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let csrf = r.json()["csrf_token"].as_str().map(str::to_owned);
    (r, Client { cookie, csrf })
}

/// The contract's matrix (design/0003-console-api.md): each route and the roles that may call it. Letters: o
/// operator, s supervisor, i investigator, p parking agent, a auditor, d admin; "*" public; "any" every role.
const MATRIX: &[(&str, &str, &str)] = &[
    ("GET", "/metrics", "*"),
    ("GET", "/api/health", "*"),
    ("GET", "/api/openapi.json", "*"),
    ("POST", "/api/login", "*"),
    ("POST", "/api/logout", "any"),
    ("GET", "/api/me", "any"),
    ("GET", "/api/cameras", "osd"),
    ("GET", "/api/cameras/{name}/live", "osd"),
    ("GET", "/api/cameras/{name}/frame.jpg", "osd"),
    ("GET", "/api/cameras/{name}/zones", "osd"),
    ("PUT", "/api/cameras/{name}/zones", "sd"),
    ("GET", "/api/events", "osid"),
    ("GET", "/api/events/{id}", "osid"),
    ("GET", "/api/events/{id}/snapshot.jpg", "osid"),
    ("GET", "/api/events/{id}/clip.mp4", "osid"),
    ("POST", "/api/events/{id}/decision", "os"),
    ("GET", "/api/stream", "osid"),
    ("GET", "/api/users", "d"),
    ("POST", "/api/users", "d"),
    ("DELETE", "/api/users/{username}", "d"),
];

fn letter(r: Role) -> char {
    match r {
        Role::Operator => 'o',
        Role::Supervisor => 's',
        Role::Investigator => 'i',
        Role::ParkingAgent => 'p',
        Role::Auditor => 'a',
        Role::Admin => 'd',
    }
}

fn expected(method: &Method, path: &str) -> &'static str {
    MATRIX
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, who)| *who)
        .unwrap_or_else(|| panic!("route {method} {path} has no decision in the test's matrix: add it"))
}

#[test]
fn route_table_matches_the_contract_matrix() {
    let routes = api::routes();
    for r in &routes {
        let who = expected(&r.method, r.path);
        assert_eq!(
            who == "*",
            r.perm == Perm::Public,
            "{} {}: public or not",
            r.method,
            r.path
        );
        for role in Role::ALL {
            let want = who == "*" || who == "any" || who.contains(letter(role));
            assert_eq!(
                api::allows(role, r.perm),
                want,
                "{} {} for role {}",
                r.method,
                r.path,
                role.as_str()
            );
        }
    }
    for (m, p, _) in MATRIX {
        assert!(
            routes.iter().any(|r| r.method.as_str() == *m && r.path == *p),
            "the matrix lists {m} {p}, which the table lacks"
        );
    }
    let doc = api::openapi::document();
    for r in &routes {
        let op = &doc["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} in openapi.json", r.method, r.path);
    }
}

fn body_for(method: &Method, path: &str, n: usize) -> Option<String> {
    match (method.as_str(), path) {
        ("POST", "/api/login") => Some(serde_json::json!({"username": "victim", "password": PASSWORD}).to_string()),
        ("PUT", _) => Some(r#"{"zones":[],"lines":[],"rules":[]}"#.into()),
        ("POST", "/api/events/{id}/decision") => Some(r#"{"decision":"confirm","reason":""}"#.into()),
        ("POST", "/api/users") => Some(format!(
            r#"{{"username":"new{n}","password":"long enough pw","role":"operator","cameras":null}}"#
        )),
        _ => None,
    }
}

#[tokio::test]
async fn every_role_on_every_route_over_http() {
    let e = env();
    for role in Role::ALL {
        add_user(&e, role.as_str(), role, None);
    }
    add_user(&e, "victim", Role::Operator, None);
    let mut routes = api::routes();
    // Logging out ends the session the walk uses: last.
    routes.sort_by_key(|r| r.path == "/api/logout");
    let mut n = 0;
    for role in Role::ALL {
        let (r, c) = login(&e.app, role.as_str(), PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "login {}", role.as_str());
        for route in &routes {
            n += 1;
            let path = route
                .path
                .replace("{name}", "gate")
                .replace("{id}", EVENT_GATE)
                .replace("{username}", "victim");
            let body = body_for(&route.method, route.path, n);
            let r = call(&e.app, &c, route.method.clone(), &path, body.as_deref()).await;
            let who = expected(&route.method, route.path);
            let what = format!(
                "{} {path} as {}: {} {}",
                route.method,
                role.as_str(),
                r.status,
                r.text()
            );
            assert!(!r.status.is_server_error(), "{what}");
            if who == "*" {
                continue;
            }
            let allowed = who == "any" || who.contains(letter(role));
            if allowed {
                assert!(
                    r.status != StatusCode::FORBIDDEN && r.status != StatusCode::UNAUTHORIZED,
                    "allowed: {what}"
                );
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "denied: {what}");
                assert!(r.json()["error"].is_string(), "{what}");
            }
            // Without a session, nothing but the public routes answers.
            let anon = call(&e.app, &Client::default(), route.method.clone(), &path, body.as_deref()).await;
            assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "anonymous {path}");
        }
    }
}

#[tokio::test]
async fn login_me_logout_and_expiry() {
    let e = env_with(|a| a.session_ttl_ms = 1_500);
    add_user(&e, "ana", Role::Operator, Some(vec!["gate"]));
    let (r, _) = login(&e.app, "ana", "wrong").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let (r, _) = login(&e.app, "nobody", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let (r, c) = login(&e.app, "ana", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set = r.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    assert_eq!(r.json()["role"], "operator");
    assert_eq!(r.json()["cameras"], serde_json::json!(["gate"]));
    let me = call(&e.app, &c, Method::GET, "/api/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "ana");
    assert_eq!(me.json()["csrf_token"].as_str(), c.csrf.as_deref());

    // Logout needs the CSRF token like every state-changing request.
    let no_csrf = Client {
        csrf: None,
        ..c.clone()
    };
    let r = call(&e.app, &no_csrf, Method::POST, "/api/logout", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let wrong = Client {
        csrf: Some("0".repeat(64)),
        ..c.clone()
    };
    assert_eq!(
        call(&e.app, &wrong, Method::POST, "/api/logout", None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = call(&e.app, &c, Method::POST, "/api/logout", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    assert_eq!(
        call(&e.app, &c, Method::GET, "/api/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A session expires.
    let (_, c) = login(&e.app, "ana", PASSWORD).await;
    assert_eq!(
        call(&e.app, &c, Method::GET, "/api/me", None).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let r = call(&e.app, &c, Method::GET, "/api/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.json()["error"].as_str().is_some_and(|m| m.contains("expired")),
        "{}",
        r.text()
    );

    // A disabled account cannot log in.
    e.api.with_store(|s| s.set_user_disabled("ana", true)).expect("disable");
    assert_eq!(login(&e.app, "ana", PASSWORD).await.0.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_is_rate_limited_per_user_and_per_address() {
    let e = env();
    add_user(&e, "ana", Role::Operator, None);
    for _ in 0..5 {
        assert_eq!(login(&e.app, "ana", "guess").await.0.status, StatusCode::UNAUTHORIZED);
    }
    let (r, _) = login(&e.app, "ana", PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password: {}",
        r.text()
    );
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    assert!(r.json()["error"].is_string());

    // Per client address: five different names from one address.
    let e = env();
    add_user(&e, "bob", Role::Operator, None);
    let from = |user: &str, pw: &str| {
        let mut req = request(
            &Client::default(),
            Method::POST,
            "/api/login",
            Some(&serde_json::json!({"username": user, "password": pw}).to_string()),
        );
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [192, 0, 2, 7],
                4000,
            ))));
        req
    };
    for i in 0..5 {
        assert_eq!(
            send(&e.app, from(&format!("u{i}"), "x")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        send(&e.app, from("bob", PASSWORD)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address is not affected.
    assert_eq!(login(&e.app, "bob", PASSWORD).await.0.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_bodies_get_a_4xx_with_a_message() {
    let e = env();
    add_user(&e, "sue", Role::Supervisor, None);
    let (_, c) = login(&e.app, "sue", PASSWORD).await;
    let put = |body: &str| {
        let req = request(&c, Method::PUT, "/api/cameras/gate/zones", Some(body));
        send(&e.app, req)
    };
    let check = |r: &Resp, status: StatusCode, needle: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let msg = r.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(msg.contains(needle), "{needle:?} in {msg:?}");
    };
    check(&put("{\"zones\": [").await, StatusCode::BAD_REQUEST, "");
    check(&put("not json").await, StatusCode::BAD_REQUEST, "");
    check(
        &put(r#"{"zones":[],"colour":"red"}"#).await,
        StatusCode::BAD_REQUEST,
        "unknown field",
    );
    check(&put(r#"{"zones":"nope"}"#).await, StatusCode::BAD_REQUEST, "");
    let big = format!(r#"{{"zones":[{{"id":"{}","polygon":[]}}]}}"#, "x".repeat(70 * 1024));
    check(&put(&big).await, StatusCode::PAYLOAD_TOO_LARGE, "larger than");
    // A rule naming an unknown zone: 400 naming it.
    check(
        &put(r#"{"zones":[],"lines":[],"rules":[{"id":"r","type":"intrusion","zones":["nowhere"]}]}"#).await,
        StatusCode::BAD_REQUEST,
        "nowhere",
    );
    let mut req = request(&c, Method::PUT, "/api/cameras/gate/zones", None);
    *req.body_mut() = Body::from("{}");
    req.headers_mut()
        .insert(header::CONTENT_TYPE, "text/plain".parse().expect("header"));
    check(
        &send(&e.app, req).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "application/json",
    );
    let r = call(
        &e.app,
        &c,
        Method::POST,
        "/api/login",
        Some(r#"{"username":"a","password":"b","x":1}"#),
    )
    .await;
    check(&r, StatusCode::BAD_REQUEST, "unknown field");
    let r = call(&e.app, &c, Method::GET, "/api/events?limit=many", None).await;
    check(&r, StatusCode::BAD_REQUEST, "");
    let r = call(&e.app, &c, Method::GET, "/api/events?status=maybe", None).await;
    check(&r, StatusCode::BAD_REQUEST, "pending");

    // A valid edit is applied and saved.
    let z = r#"{"zones":[{"id":"door","polygon":[[0.1,0.1],[0.5,0.1],[0.5,0.5]]}],"lines":[],
               "rules":[{"id":"r","type":"intrusion","zones":["door"]}]}"#;
    let r = put(z).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(e.cameras[0].rules().zones[0].id, "door");
    let saved = api::zones::load(&e.api.zones_dir, "gate")
        .expect("load")
        .expect("saved");
    assert_eq!(saved, e.cameras[0].rules());
    let r = call(&e.app, &c, Method::GET, "/api/cameras/gate/zones", None).await;
    assert_eq!(r.json()["zones"][0]["id"], "door");
    assert_eq!(r.json()["rules"][0]["type"], "intrusion");
}

#[tokio::test]
async fn cameras_outside_a_users_list_are_not_found() {
    let e = env();
    add_user(&e, "ana", Role::Operator, Some(vec!["gate"]));
    let (_, c) = login(&e.app, "ana", PASSWORD).await;
    e.cameras[0].publish(LiveFrame {
        t_unix_ms: 5,
        frame: Arc::new(RgbFrame::from_fn(32, 24, |_, _| [9, 9, 9])),
        objects: vec![LiveObject::new(
            3,
            "person".into(),
            0.9,
            BBox::new(1.0, 2.0, 10.0, 20.0),
        )],
    });
    let r = call(&e.app, &c, Method::GET, "/api/cameras", None).await;
    let list = r.json();
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["gate"]);
    let r = call(&e.app, &c, Method::GET, "/api/cameras/gate/live", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["objects"][0]["box"], serde_json::json!([1.0, 2.0, 10.0, 20.0]));
    assert_eq!(r.json()["width"], 32);
    let r = call(&e.app, &c, Method::GET, "/api/cameras/gate/frame.jpg", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with(&[0xff, 0xd8]));
    for path in [
        "/api/cameras/hall/live".to_owned(),
        "/api/cameras/hall/frame.jpg".to_owned(),
        "/api/cameras/hall/zones".to_owned(),
        "/api/cameras/nosuch/live".to_owned(),
        format!("/api/events/{EVENT_HALL}"),
        format!("/api/events/{EVENT_HALL}/snapshot.jpg"),
        "/api/events?camera=hall".to_owned(),
        "/api/events/ev-ffffffffffffffff".to_owned(),
    ] {
        let r = call(&e.app, &c, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
    }
    let r = call(
        &e.app,
        &c,
        Method::POST,
        &format!("/api/events/{EVENT_HALL}/decision"),
        Some(r#"{"decision":"confirm"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&e.app, &c, Method::GET, "/api/events", None).await;
    let list = r.json();
    let ids: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, [EVENT_GATE]);
    let r = call(
        &e.app,
        &c,
        Method::GET,
        &format!("/api/events/{EVENT_GATE}/snapshot.jpg"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/jpeg");
}

#[tokio::test]
async fn a_decision_is_stored_once() {
    let e = env();
    add_user(&e, "ana", Role::Operator, None);
    add_user(&e, "sue", Role::Supervisor, None);
    let (_, c) = login(&e.app, "ana", PASSWORD).await;
    let path = format!("/api/events/{EVENT_GATE}/decision");
    let r = call(
        &e.app,
        &c,
        Method::POST,
        &path,
        Some(r#"{"decision":"dismiss","reason":" "}"#),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a dismissal needs a reason: {}",
        r.text()
    );
    let r = call(&e.app, &c, Method::POST, &path, Some(r#"{"decision":"maybe"}"#)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = call(
        &e.app,
        &c,
        Method::POST,
        &path,
        Some(r#"{"decision":"dismiss","reason":"false alarm: shadow"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "dismissed");
    assert_eq!(r.json()["decided_by"], "ana");
    let (_, c2) = login(&e.app, "sue", PASSWORD).await;
    let r = call(&e.app, &c2, Method::POST, &path, Some(r#"{"decision":"confirm"}"#)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = call(&e.app, &c2, Method::GET, "/api/events?status=dismissed", None).await;
    let list = r.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["reason"], "false alarm: shadow");
    assert!(list[0]["decided_unix_ms"].as_i64().is_some());
    assert_eq!(list[0]["start_unix_ms"], 1_700_000_001_000i64);
    let r = call(&e.app, &c2, Method::GET, "/api/events?status=pending", None).await;
    assert_eq!(r.json()[0]["id"], EVENT_HALL);
    let r = call(&e.app, &c2, Method::GET, &format!("/api/events/{EVENT_GATE}"), None).await;
    assert_eq!(
        r.json()["snapshot_url"],
        format!("/api/events/{EVENT_GATE}/snapshot.jpg")
    );
}

#[tokio::test]
async fn responses_never_carry_camera_credentials() {
    let e = env();
    add_user(&e, "root", Role::Admin, None);
    let (_, c) = login(&e.app, "root", PASSWORD).await;
    // What the ingest reports about a failing camera is already redacted; the API adds nothing of the URL.
    let url = "rtsp://viewer:s3cr3t-pw@192.0.2.1:554/stream1";
    e.cameras[0].metrics.set_state(
        "failed",
        1,
        &format!("connecting to {}", vigie_server::config::redact_url(url)),
    );
    for path in [
        "/api/cameras",
        "/api/health",
        "/metrics",
        "/api/openapi.json",
        "/api/cameras/gate/zones",
        "/api/me",
    ] {
        let r = call(&e.app, &c, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.text().contains("s3cr3t"), "{path}: {}", r.text());
    }
    let r = call(&e.app, &c, Method::GET, "/api/users", None).await;
    assert!(!r.text().contains("argon2"), "no hashes: {}", r.text());
}

#[tokio::test]
async fn the_stream_sends_new_alerts_and_decisions() {
    let e = env_with(|a| a.stream_poll_ms = 50);
    add_user(&e, "ana", Role::Operator, Some(vec!["gate"]));
    let (_, c) = login(&e.app, "ana", PASSWORD).await;
    let resp = e
        .app
        .clone()
        .oneshot(request(&c, Method::GET, "/api/stream", None))
        .await
        .expect("stream");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    e.api
        .with_store(|s| {
            let run = s.runs()?.first().map(|r| r.id).expect("run");
            s.save_event(run, &event("ev-00000000000000c3", "gate"))?;
            s.save_event(run, &event("ev-00000000000000d4", "hall"))
        })
        .expect("new events");
    let path = format!("/api/events/{EVENT_GATE}/decision");
    let r = call(&e.app, &c, Method::POST, &path, Some(r#"{"decision":"confirm"}"#)).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(text.contains("ev-00000000000000c3") && text.contains("event: decision")) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("stream events in time");
        let Some(Ok(f)) = frame else { break };
        if let Some(d) = f.data_ref() {
            text.push_str(&String::from_utf8_lossy(d));
        }
    }
    assert!(
        text.contains("event: alert") && text.contains("ev-00000000000000c3"),
        "{text}"
    );
    assert!(text.contains("event: decision") && text.contains(EVENT_GATE), "{text}");
    assert!(text.contains("event: camera"), "{text}");
    assert!(!text.contains("ev-00000000000000d4"), "another camera's event: {text}");
}

#[tokio::test]
async fn the_console_loads_without_login_and_unknown_api_paths_are_not_found() {
    let e = env();
    let r = call(&e.app, &Client::default(), Method::GET, "/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let r = call(&e.app, &Client::default(), Method::GET, "/api/nothing-here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"], "no such route");
}

#[tokio::test]
async fn a_session_used_after_half_its_life_is_renewed() {
    let e = env_with(|a| a.session_ttl_ms = 2_000);
    add_user(&e, "ana", Role::Operator, None);
    let (_, c) = login(&e.app, "ana", PASSWORD).await;
    let r = call(&e.app, &c, Method::GET, "/api/me", None).await;
    assert!(
        r.headers.get(header::SET_COOKIE).is_none(),
        "young sessions are left alone"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let r = call(&e.app, &c, Method::GET, "/api/me", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get(header::SET_COOKIE).is_some(), "renewed");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_eq!(
        call(&e.app, &c, Method::GET, "/api/me", None).await.status,
        StatusCode::OK,
        "past the first expiry"
    );
}
