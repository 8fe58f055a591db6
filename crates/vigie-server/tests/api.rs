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
    ("GET", "/api/parking/queue", "p"),
    ("GET", "/api/parking/{id}/evidence/{file}", "p"),
    ("POST", "/api/parking/{id}/confirm", "p"),
    ("POST", "/api/parking/{id}/dismiss", "p"),
    ("POST", "/api/payments", "d"),
    ("GET", "/api/authorisations", "d"),
    ("POST", "/api/authorisations", "d"),
    ("POST", "/api/authorisations/{id}/revoke", "d"),
    ("GET", "/api/accuracy", "sd"),
    ("GET", "/api/cases", "i"),
    ("GET", "/api/cases/{reference}/search", "i"),
    ("GET", "/api/cases/{reference}/tracks/{run}/{track}/thumb.jpg", "i"),
    ("GET", "/api/cases/{reference}/recording.mp4", "i"),
    ("GET", "/api/audit", "a"),
    ("GET", "/api/audit/export", "a"),
    ("GET", "/api/audit/verify", "a"),
    ("GET", "/api/register", "*"),
    ("GET", "/register/signage/{camera}", "*"),
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
        ("POST", "/api/authorisations") => Some(authorisation_body("gate", "intrusion", 0, i64::MAX)),
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
                .replace("{username}", "victim")
                .replace("{camera}", "gate")
                .replace("{reference}", "PV-1")
                .replace("{run}", "1")
                .replace("{track}", "1");
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

    // A valid edit is applied and saved, once an authorisation covers the rule's event type.
    let z = r#"{"zones":[{"id":"door","polygon":[[0.1,0.1],[0.5,0.1],[0.5,0.5]]}],"lines":[],
               "rules":[{"id":"r","type":"intrusion","zones":["door"]}]}"#;
    check(
        &put(z).await,
        StatusCode::FORBIDDEN,
        "no valid authorisation covers event type intrusion",
    );
    authorise(&e, &["gate"], &["intrusion"], 0, i64::MAX);
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

fn authorisation_body(camera: &str, event_type: &str, start: i64, end: i64) -> String {
    serde_json::json!({
        "authority": "Préfecture de police",
        "reference": format!("arrêté {camera}-{event_type}"),
        "cameras": [camera],
        "event_types": [event_type],
        "start_unix_ms": start,
        "end_unix_ms": end,
    })
    .to_string()
}

/// Records an authorisation in the database and refreshes the API's snapshot (what the service's refresher does).
fn authorise(e: &Env, cameras: &[&str], types: &[&str], start: i64, end: i64) {
    let new = vigie_store::NewAuthorisation {
        authority: "Préfecture de police".into(),
        reference: "arrêté 2026-0142".into(),
        cameras: cameras.iter().map(|c| c.to_string()).collect(),
        event_types: types.iter().map(|c| c.to_string()).collect(),
        start_unix_ms: start,
        end_unix_ms: end,
    };
    let list = e
        .api
        .with_store(|s| {
            s.add_authorisation(&new, "test", 0)?;
            s.authorisations()
        })
        .expect("authorisation");
    e.api.authz.set(list);
}

const ZONES_WITH: &str = r#"{"zones":[{"id":"door","polygon":[[0.1,0.1],[0.5,0.1],[0.5,0.5]]}],
    "lines":[{"id":"l","from":[0,0],"to":[1,1]}],"rules":[{"id":"r","type":"RULE","zones":["door"]}]}"#;

#[tokio::test]
async fn rules_need_a_valid_authorisation_which_admins_manage() {
    let e = env();
    add_user(&e, "root", Role::Admin, None);
    add_user(&e, "sue", Role::Supervisor, None);
    let (_, admin) = login(&e.app, "root", PASSWORD).await;
    let (_, sup) = login(&e.app, "sue", PASSWORD).await;
    let now = vigie_server::unix_ms();
    let body = authorisation_body("gate", "intrusion", now - 1000, now + 3_600_000);
    let r = call(&e.app, &admin, Method::POST, "/api/authorisations", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    assert_eq!(r.json()["valid_now"], true);
    // Only the décret's types can be authorised.
    let bad = authorisation_body("gate", "emotion_recognition", now, now + 1000);
    let r = call(&e.app, &admin, Method::POST, "/api/authorisations", Some(&bad)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let put = |cam: &str, rule: &str| {
        let path = format!("/api/cameras/{cam}/zones");
        let body = ZONES_WITH.replace("RULE", rule);
        let sup = sup.clone();
        let app = e.app.clone();
        async move { call(&app, &sup, Method::PUT, &path, Some(&body)).await }
    };
    assert_eq!(put("gate", "intrusion").await.status, StatusCode::OK);
    assert_eq!(
        put("gate", "loitering").await.status,
        StatusCode::OK,
        "loitering runs under intrusion"
    );
    let r = put("hall", "intrusion").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another camera: {}", r.text());
    assert!(r.json()["error"].as_str().unwrap_or_default().contains("camera hall"));
    let r = put("gate", "gathering").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or_default()
            .contains("excessive_density")
    );
    let count = ZONES_WITH.replace(
        r#""type":"RULE","zones":["door"]"#,
        r#""type":"line_count","lines":["l"]"#,
    );
    let r = call(&e.app, &sup, Method::PUT, "/api/cameras/hall/zones", Some(&count)).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "counting needs no authorisation: {}",
        r.text()
    );
    // Revoked: the same edit is refused; a second revocation is a conflict.
    let path = format!("/api/authorisations/{id}/revoke");
    let r = call(&e.app, &admin, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["valid_now"], false);
    assert_eq!(r.json()["revoked_by"], "root");
    assert_eq!(put("gate", "intrusion").await.status, StatusCode::FORBIDDEN);
    let r = call(&e.app, &admin, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = call(&e.app, &admin, Method::GET, "/api/authorisations", None).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    // Expired: refused too.
    authorise(&e, &["gate"], &["intrusion"], now - 7_200_000, now - 3_600_000);
    assert_eq!(put("gate", "intrusion").await.status, StatusCode::FORBIDDEN);
}

/// A small JSON Schema checker for what docs/register-schema.json uses: type (one or a list), required,
/// properties, additionalProperties: false, items, enum, minimum, maximum, pattern (anchored digits only).
fn check_schema(schema: &serde_json::Value, v: &serde_json::Value, at: &str, errors: &mut Vec<String>) {
    use serde_json::Value as V;
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            V::String(s) => vec![s.as_str()],
            V::Array(a) => a.iter().filter_map(V::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            errors.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(V::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{at}: {v} not in the enum"));
    }
    if let Some(n) = v.as_f64() {
        if schema.get("minimum").and_then(V::as_f64).is_some_and(|m| n < m) {
            errors.push(format!("{at}: {n} below the minimum"));
        }
        if schema.get("maximum").and_then(V::as_f64).is_some_and(|m| n > m) {
            errors.push(format!("{at}: {n} above the maximum"));
        }
    }
    if let (Some("^[0-9]{4}-[0-9]{2}$"), Some(s)) = (schema.get("pattern").and_then(V::as_str), v.as_str()) {
        let b = s.as_bytes();
        let ok = b.len() == 7 && b[4] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
        if !ok {
            errors.push(format!("{at}: {s} is not YYYY-MM"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema.get("required").and_then(V::as_array).into_iter().flatten() {
            if let Some(k) = r.as_str()
                && !obj.contains_key(k)
            {
                errors.push(format!("{at}: missing {k}"));
            }
        }
        let props = schema.get("properties").and_then(V::as_object);
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check_schema(ps, x, &format!("{at}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&V::Bool(false)) => {
                    errors.push(format!("{at}: unexpected property {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check_schema(items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

#[tokio::test]
async fn register_json_follows_the_documented_schema_and_needs_no_login() {
    let e = env_with(|api| {
        api.register = vigie_server::register::RegisterInfo {
            operator: Some("Ville de Lyon".into()),
            rights_contact: Some("dpo@example.fr".into()),
            retention_days: 30,
            cameras: vec![vigie_server::register::RegisterCamera {
                name: "gate".into(),
                place: Some("Place Bellecour, côté nord".into()),
                purpose: Some("sécurité des personnes".into()),
                retention_days: Some(15),
            }],
        }
    });
    let now = vigie_server::unix_ms();
    authorise(&e, &["gate"], &["intrusion"], now - 1000, now + 3_600_000);
    authorise(&e, &["gate"], &["excessive_density"], now - 7_200_000, now - 3_600_000); // expired
    let rules: vigie_rules::RulesConfig = toml::from_str(
        "[[zone]]\nid = \"door\"\npolygon = [[0,0],[1,0],[1,1]]\n\
         [[rule]]\nid = \"in\"\ntype = \"intrusion\"\nzones = [\"door\"]\n\
         [[rule]]\nid = \"crowd\"\ntype = \"excessive_density\"\nzones = [\"door\"]\nmax_people = 5\n",
    )
    .expect("rules");
    e.cameras[0]
        .set_rules(rules, &["person".to_owned(), "car".to_owned()])
        .expect("rules");
    e.api
        .with_store(|s| {
            s.decide_event(&vigie_store::DecisionRow {
                event_id: EVENT_GATE.into(),
                decision: vigie_store::Decision::Dismiss,
                reason: "false alarm: shadow".into(),
                username: "olga".into(),
                at_unix_ms: now,
            })
        })
        .expect("decision");
    let r = call(&e.app, &Client::default(), Method::GET, "/api/register", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let reg = r.json();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/register-schema.json"))
            .expect("docs/register-schema.json"),
    )
    .expect("schema JSON");
    let mut errors = vec![];
    check_schema(&schema, &reg, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}\n{reg:#}");
    // The checker does catch a bad answer.
    let mut broken = reg.clone();
    broken["cameras"][0]["retention_days"] = serde_json::json!("15");
    broken["cameras"][0].as_object_mut().expect("camera").remove("place");
    let mut errs = vec![];
    check_schema(&schema, &broken, "$", &mut errs);
    assert_eq!(errs.len(), 2, "{errs:?}");

    let gate = &reg["cameras"][0];
    assert_eq!(gate["name"], "gate");
    assert_eq!(gate["place"], "Place Bellecour, côté nord");
    assert_eq!(gate["retention_days"], 15);
    assert_eq!(reg["operator"], "Ville de Lyon");
    let types: Vec<&str> = gate["analytics"]
        .as_array()
        .expect("analytics")
        .iter()
        .filter_map(|a| a["event_type"].as_str())
        .collect();
    assert_eq!(
        types,
        vec!["intrusion"],
        "the density rule's authorisation expired: not active"
    );
    assert_eq!(gate["analytics"][0]["authorisation"]["reference"], "arrêté 2026-0142");
    assert_eq!(reg["cameras"][1]["analytics"], serde_json::json!([]));
    assert_eq!(reg["accuracy"][0]["event_type"], "intrusion");
    assert_eq!(reg["accuracy"][0]["decided"], 1);
    assert_eq!(reg["accuracy"][0]["precision"], 0.0);
    let month = &reg["statistics"]["months"][0];
    assert_eq!(month["month"], "2023-11");
    assert_eq!(month["alerts"][0]["dismissed"], 1);

    // The page, its script and the signage: no login either.
    for (path, needle) in [
        ("/register", "/register/register.js"),
        ("/register/register.js", "/api/register"),
        ("/register/signage/gate", "Place Bellecour"),
    ] {
        let r = call(&e.app, &Client::default(), Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.text().contains(needle), "{path}: {}", r.text());
    }
    let r = call(&e.app, &Client::default(), Method::GET, "/register/signage/gate", None).await;
    assert!(
        r.text().contains("15 jours") && r.text().contains("intrusion"),
        "{}",
        r.text()
    );
    let r = call(
        &e.app,
        &Client::default(),
        Method::GET,
        "/register/signage/nosuch",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn supervisors_see_the_accuracy_of_their_cameras() {
    let e = env();
    add_user(&e, "sue", Role::Supervisor, Some(vec!["gate"]));
    e.api
        .with_store(|s| {
            for (id, d) in [
                (EVENT_GATE, vigie_store::Decision::Confirm),
                (EVENT_HALL, vigie_store::Decision::Dismiss),
            ] {
                s.decide_event(&vigie_store::DecisionRow {
                    event_id: id.into(),
                    decision: d,
                    reason: "r".into(),
                    username: "olga".into(),
                    at_unix_ms: 1,
                })?;
            }
            Ok(())
        })
        .expect("decisions");
    let (_, c) = login(&e.app, "sue", PASSWORD).await;
    let r = call(&e.app, &c, Method::GET, "/api/accuracy", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let a = r.json();
    assert_eq!(a["by_type"][0]["key"], "intrusion");
    assert_eq!(a["by_type"][0]["precision"], 0.5);
    let cams = a["by_camera"].as_array().expect("cameras");
    assert_eq!(cams.len(), 1, "only the user's cameras: {cams:?}");
    assert_eq!(cams[0]["key"], "gate");
    assert_eq!(cams[0]["precision"], 1.0);
    assert!(cams[0]["camera_days"].as_i64().unwrap_or(0) >= 1);
    assert_eq!(a["by_week"][0]["decided"], 2);
}

/// The parking pre-check through the API: the payment provider's session (admin), the sworn agent's queue with
/// its evidence, a confirmation and a dismissal; other roles refused; every look and decision in the audit log
/// when there is one (here none: the API without a log still enforces roles).
#[tokio::test]
async fn parking_queue_evidence_decisions_and_payments() {
    use vigie_plates::parking::{
        Config as ParkingConfig, DstRule, EvidenceCrop, MINUTES_PER_DAY, NewZone, Observation, Outcome, PaidHours,
        ParkingStore, PlateKey, ZoneRules,
    };
    let now = vigie_server::unix_ms();
    let key = PlateKey::from_bytes([7u8; 32]);
    let mut store = ParkingStore::open_in_memory(key, ParkingConfig::default(), now).expect("parking store");
    let zone = store
        .add_zone(
            &NewZone {
                name: "quay".into(),
                camera: "gate".into(),
                polygon: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
                rules: ZoneRules {
                    utc_offset_min: 60,
                    dst: DstRule::Eu,
                    grace_s: 0,
                    paid_hours: PaidHours::days(0..=6, 0, MINUTES_PER_DAY),
                },
            },
            now,
        )
        .expect("zone");
    let jpeg = {
        let img = image::RgbImage::from_pixel(16, 8, image::Rgb([200, 200, 200]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out)
            .encode_image(&img)
            .expect("jpeg");
        out
    };
    let crop = || EvidenceCrop {
        taken_unix_ms: now - 1000,
        jpeg: jpeg.clone(),
    };
    let parking = std::sync::Arc::new(std::sync::Mutex::new(store));
    let p2 = parking.clone();
    let e = env_with(move |api| api.parking = Some(p2));
    add_user(&e, "pia", Role::ParkingAgent, None);
    add_user(&e, "dora", Role::Admin, None);
    add_user(&e, "olga", Role::Operator, None);

    // The payment provider (admin account here) sends a paid session for one plate.
    let (_, admin) = login(&e.app, "dora", PASSWORD).await;
    let body = serde_json::json!({
        "plate": "AB-123-CD", "zone": "quay", "start_unix_ms": now - 3_600_000, "end_unix_ms": now + 3_600_000
    })
    .to_string();
    let r = call(&e.app, &admin, Method::POST, "/api/payments", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let bad = call(
        &e.app,
        &admin,
        Method::POST,
        "/api/payments",
        Some(r#"{"plate":"X","zone":"quay","start":1}"#),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());

    // Two vehicles observed: the paid one is matched (nothing kept), the other queued.
    let observe = |plate: &str| Observation {
        plate: Some(plate.into()),
        confidence: 0.99,
        zone,
        camera: "gate".into(),
        first_seen_unix_ms: now - 600_000,
        seen_unix_ms: now - 1000,
        evidence: [crop(), crop()],
    };
    {
        let mut st = parking.lock().expect("lock");
        assert_eq!(st.observe(&observe("AB123CD")).expect("observe"), Outcome::Paid);
        assert!(matches!(
            st.observe(&observe("EF456GH")).expect("observe"),
            Outcome::Queued(_)
        ));
        assert!(matches!(
            st.observe(&observe("JK789LM")).expect("observe"),
            Outcome::Queued(_)
        ));
    }

    let (_, agent) = login(&e.app, "pia", PASSWORD).await;
    let q = call(&e.app, &agent, Method::GET, "/api/parking/queue", None).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text());
    let items = q.json();
    let plates: Vec<&str> = items
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|i| i["plate"].as_str())
        .collect();
    assert_eq!(plates.len(), 2, "{plates:?}");
    assert!(!plates.contains(&"AB123CD"), "a paid plate is never queued");
    let id0 = items[0]["id"].as_i64().expect("id");
    let id1 = items[1]["id"].as_i64().expect("id");
    let ev = call(
        &e.app,
        &agent,
        Method::GET,
        &format!("/api/parking/{id0}/evidence/1.jpg"),
        None,
    )
    .await;
    assert_eq!(ev.status, StatusCode::OK);
    assert!(ev.body.starts_with(&[0xff, 0xd8]));
    let r = call(
        &e.app,
        &agent,
        Method::POST,
        &format!("/api/parking/{id0}/confirm"),
        Some(r#"{"reference":"FPS-2026-1"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let again = call(
        &e.app,
        &agent,
        Method::POST,
        &format!("/api/parking/{id0}/dismiss"),
        Some(r#"{"reason":"x"}"#),
    )
    .await;
    assert!(again.status.is_client_error(), "a decision is final: {}", again.status);
    let r = call(
        &e.app,
        &agent,
        Method::POST,
        &format!("/api/parking/{id1}/dismiss"),
        Some(r#"{"reason":"plate misread"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let q = call(&e.app, &agent, Method::GET, "/api/parking/queue", None).await;
    assert_eq!(q.json().as_array().map(Vec::len), Some(0));

    // An operator sees no plate.
    let (_, op) = login(&e.app, "olga", PASSWORD).await;
    let r = call(&e.app, &op, Method::GET, "/api/parking/queue", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Issue 8: the case-gated search for investigators. Only cases the user is on (404 otherwise), only their cameras
/// and window, never a person's appearance (400), closed cases refused (410), every search in the audit log.
#[tokio::test]
async fn case_gated_search_for_investigators() {
    let audit_dir = tempfile::tempdir().expect("tempdir");
    let key = Arc::new(vigie_audit::InstanceKey::load_or_create(&audit_dir.path().join("instance.key")).expect("key"));
    let log = vigie_audit::AuditLog::open(&audit_dir.path().join("audit.db"), key).expect("audit log");
    let e = env_with(|a| a.audit = Some(Arc::new(std::sync::Mutex::new(log))));
    let now = vigie_server::unix_ms();
    let t0 = now - 3_600_000;
    e.api
        .with_store(|s| {
            let run = s.begin_run(&NewRun {
                source: "gate".into(),
                source_kind: SourceKind::Camera,
                started_unix_ms: t0,
                analysis_fps: 5.0,
                width: 64,
                height: 48,
                model: "m".into(),
            })?;
            s.set_run_camera(run, "gate", t0, None)?;
            {
                let mut w = s.writer(run);
                for (id, class) in [(1u64, "car"), (2, "person")] {
                    let tid = vigie_core::TrackId(std::num::NonZeroU64::new(id).expect("id"));
                    let b = BBox::new(1.0, 1.0, 20.0, 20.0);
                    w.push_box(tid, Time90k(0), b, 0.9)?;
                    w.end_track(&vigie_core::TrackSummary {
                        track_id: tid,
                        class: class.into(),
                        class_confidence: 1.0,
                        first: Time90k(0),
                        last: Time90k(0),
                        frames: 1,
                        max_score: 0.9,
                        best_box: b,
                        best: Time90k(0),
                    })?;
                }
                w.finish()?;
            }
            let car = vigie_core::TrackId(std::num::NonZeroU64::new(1).expect("id"));
            s.save_track_colours(run, &[(car, "red".into(), 0.8)])?;
            for (reference, investigators) in [
                ("PV-1", vec!["investigator".to_string()]),
                ("PV-2", vec!["other".into()]),
            ] {
                s.open_case(&vigie_store::NewCase {
                    reference: reference.into(),
                    authority: "Parquet".into(),
                    cameras: vec!["gate".into()],
                    from_unix_ms: t0 - 1000,
                    to_unix_ms: now,
                    investigators,
                    opened_by: "test".into(),
                    created_unix_ms: now - 1000,
                    expires_unix_ms: now + 86_400_000,
                    plates_allowed: false,
                })?;
            }
            Ok(())
        })
        .expect("tracks and cases");
    add_user(&e, "investigator", Role::Investigator, None);
    let (_, c) = login(&e.app, "investigator", PASSWORD).await;
    let r = call(&e.app, &c, Method::GET, "/api/cases", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cases = r.json();
    assert_eq!(
        cases.as_array().map(Vec::len),
        Some(1),
        "only the cases the user is on: {cases}"
    );
    assert_eq!(cases[0]["reference"], "PV-1");
    let r = call(
        &e.app,
        &c,
        Method::GET,
        "/api/cases/PV-1/search?class=car&colour=red",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let hits = r.json();
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    assert_eq!(
        (hits[0]["track_id"].as_u64(), hits[0]["colour"].as_str()),
        (Some(1), Some("red"))
    );
    let r = call(
        &e.app,
        &c,
        Method::GET,
        "/api/cases/PV-1/search?class=person&colour=red",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-1/search?class=person", None).await;
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(1),
        "people by class: {}",
        r.text()
    );
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-2/search", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not on the case");
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-1/search?camera=hall", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a camera outside the case");
    e.api
        .with_store(|s| s.close_case("PV-1", now).map(|_| ()))
        .expect("close");
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-1/search", None).await;
    assert_eq!(r.status, StatusCode::GONE);
    let mut out = Vec::new();
    vigie_audit::AuditReader::open(&audit_dir.path().join("audit.db"))
        .expect("reader")
        .export_jsonl(None, None, &mut out)
        .expect("export");
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("\"action\":\"search\"").count(), 2, "{text}");
    assert!(text.contains("case:PV-1"));
}

/// Issue 8: the plate search inside a case (legal.md: plate data apart, with separate access). Only investigators
/// on the case, only in a case whose order allows plate searches (403 otherwise), in the track plate database,
/// over the case's cameras (those the user may see) and window; each lookup in the audit log (`plate_lookup`).
#[tokio::test]
async fn plate_search_only_in_cases_that_allow_it() {
    let audit_dir = tempfile::tempdir().expect("tempdir");
    let key = Arc::new(vigie_audit::InstanceKey::load_or_create(&audit_dir.path().join("instance.key")).expect("key"));
    let log = vigie_audit::AuditLog::open(&audit_dir.path().join("audit.db"), key).expect("audit log");
    let plates_db = audit_dir.path().join("plates.db");
    let db = plates_db.clone();
    let e = env_with(move |a| {
        a.audit = Some(Arc::new(std::sync::Mutex::new(log)));
        a.plates_db = Some(db);
    });
    let now = vigie_server::unix_ms();
    let t0 = now - 3_600_000;
    {
        let mut plates = vigie_plates::TrackPlateStore::open(&plates_db, now).expect("plates.db");
        for (track, camera, first, plate) in [
            (1u64, "gate", t0 + 1000, "AB123CD"),
            (2, "gate", t0 + 2000, "EF456GH"),
            (3, "hall", t0 + 1000, "AB123CD"),
            (4, "gate", t0 - 60_000, "AB999ZZ"),
        ] {
            plates
                .save(
                    &vigie_plates::TrackPlate {
                        run_id: 7,
                        track_id: track,
                        camera: camera.into(),
                        class: "car".into(),
                        first_seen_unix_ms: first,
                        last_seen_unix_ms: first + 4000,
                        plate: plate.into(),
                        format: vigie_plates::PlateFormat::FrenchSiv,
                        confidence: 0.9,
                        reads: 3,
                        crops: 4,
                    },
                    now,
                )
                .expect("save a plate");
        }
    }
    e.api
        .with_store(|s| {
            for (reference, investigators, plates_allowed) in [
                ("PV-P", vec!["investigator".to_string(), "hall-only".into()], true),
                ("PV-NP", vec!["investigator".into()], false),
                ("PV-OTHER", vec!["other".into()], true),
            ] {
                s.open_case(&vigie_store::NewCase {
                    reference: reference.into(),
                    authority: "Parquet".into(),
                    cameras: vec!["gate".into()],
                    from_unix_ms: t0 - 1000,
                    to_unix_ms: now,
                    investigators,
                    opened_by: "test".into(),
                    created_unix_ms: now - 1000,
                    expires_unix_ms: now + 86_400_000,
                    plates_allowed,
                })?;
            }
            Ok(())
        })
        .expect("cases");
    add_user(&e, "investigator", Role::Investigator, None);
    add_user(&e, "hall-only", Role::Investigator, Some(vec!["hall"]));
    add_user(&e, "olga", Role::Operator, None);
    add_user(&e, "sam", Role::Supervisor, None);
    add_user(&e, "root", Role::Admin, None);
    add_user(&e, "paula", Role::ParkingAgent, None);
    let (_, c) = login(&e.app, "investigator", PASSWORD).await;

    // The console knows which cases allow plate searches.
    let cases = call(&e.app, &c, Method::GET, "/api/cases", None).await.json();
    let allowed: Vec<(String, bool)> = cases
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["reference"].as_str().unwrap_or_default().to_owned(),
                        c["plates_allowed"].as_bool().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        allowed,
        [("PV-NP".to_string(), false), ("PV-P".to_string(), true)],
        "{cases}"
    );

    // Exact, with separators and lower case, with wildcards: the vehicle on the case's camera, in its window.
    for pattern in ["AB123CD", "ab-123-cd", "AB1*", "?B123C?"] {
        let r = call(
            &e.app,
            &c,
            Method::GET,
            &format!("/api/cases/PV-P/search?plate={pattern}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{pattern}: {}", r.text());
        let hits = r.json();
        assert_eq!(hits.as_array().map(Vec::len), Some(1), "{pattern}: {hits}");
        assert_eq!(
            (
                hits[0]["run"].as_i64(),
                hits[0]["track_id"].as_u64(),
                hits[0]["camera"].as_str(),
                hits[0]["class"].as_str(),
                hits[0]["plate"].as_str(),
                hits[0]["first_unix_ms"].as_i64(),
                hits[0]["last_unix_ms"].as_i64(),
            ),
            (
                Some(7),
                Some(1),
                Some("gate"),
                Some("car"),
                Some("AB123CD"),
                Some(t0 + 1000),
                Some(t0 + 5000)
            ),
            "{pattern}"
        );
        assert!(hits[0]["confidence"].as_f64().is_some_and(|c| (c - 0.9).abs() < 1e-6));
    }
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-P/search?plate=*", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no letter or digit: {}", r.text());
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-P/search?plate=E*", None).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{}", r.text());
    let r = call(
        &e.app,
        &c,
        Method::GET,
        &format!("/api/cases/PV-P/search?plate=E*&to_unix_ms={}", t0 + 1500),
        None,
    )
    .await;
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(0),
        "narrowed window: {}",
        r.text()
    );
    for (path, status, why) in [
        ("/api/cases/PV-P/search?plate=ZZ*", StatusCode::OK, "no such plate"),
        (
            "/api/cases/PV-P/search?plate=AB%5B1%5D",
            StatusCode::BAD_REQUEST,
            "GLOB brackets",
        ),
        (
            "/api/cases/PV-P/search?plate=AB*&class=car",
            StatusCode::BAD_REQUEST,
            "plate alone",
        ),
        (
            "/api/cases/PV-P/search?plate=AB*&camera=hall",
            StatusCode::NOT_FOUND,
            "camera outside the case",
        ),
        (
            "/api/cases/PV-NP/search?plate=AB123CD",
            StatusCode::FORBIDDEN,
            "case without plates",
        ),
        (
            "/api/cases/PV-OTHER/search?plate=AB123CD",
            StatusCode::NOT_FOUND,
            "not on the case",
        ),
    ] {
        let r = call(&e.app, &c, Method::GET, path, None).await;
        assert_eq!(r.status, status, "{why}: {}", r.text());
        if status == StatusCode::OK {
            assert_eq!(r.json().as_array().map(Vec::len), Some(0), "{why}: {}", r.text());
        }
        if status == StatusCode::FORBIDDEN {
            assert!(r.text().contains("does not allow plate searches"), "{}", r.text());
        }
    }
    // The case without plates still searches tracks.
    let r = call(&e.app, &c, Method::GET, "/api/cases/PV-NP/search?class=car", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // An investigator on the case who may not see its camera finds nothing.
    let (_, h) = login(&e.app, "hall-only", PASSWORD).await;
    let r = call(&e.app, &h, Method::GET, "/api/cases/PV-P/search?plate=AB123CD", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json().as_array().map(Vec::len), Some(0), "{}", r.text());

    // Other roles: no plate search at all.
    for user in ["olga", "sam", "root", "paula"] {
        let (_, o) = login(&e.app, user, PASSWORD).await;
        let r = call(&e.app, &o, Method::GET, "/api/cases/PV-P/search?plate=AB123CD", None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}: {}", r.text());
        assert!(!r.text().contains("AB123CD"), "{user}");
    }

    // Every lookup that ran is in the audit log, with the pattern and the case; refusals looked nothing up.
    let mut out = Vec::new();
    vigie_audit::AuditReader::open(&audit_dir.path().join("audit.db"))
        .expect("reader")
        .export_jsonl(None, None, &mut out)
        .expect("export");
    let text = String::from_utf8_lossy(&out);
    let lookups: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["action"] == "plate_lookup")
        .collect();
    assert_eq!(lookups.len(), 8, "4 patterns, E*, E* narrowed, ZZ*, hall-only: {text}");
    assert!(lookups.iter().all(|l| l["target"] == "case:PV-P"), "{text}");
    assert!(text.contains("AB1*"), "{text}");
}

/// A server whose camera "gate" has one recorded minute of the demo footage (`make test-data`; `None` without
/// it) from an hour ago, a live run on it with a car (track 1) and a person (track 2) from 1 s to 5 s (best box at
/// 3 s), cases PV-1 (investigator, hall-only), PV-2 (other) and PV-LATER (its window starting after the tracks),
/// and `masks` as the camera's privacy masks. Returns the server, the audit log's folder, t0 and now.
fn case_media_env(masks: Vec<vigie_core::MaskConfig>) -> Option<(Env, tempfile::TempDir, i64, i64)> {
    let footage = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/vigie/testdata/vtest.mp4");
    if !footage.exists() {
        eprintln!("skipped: .cache/vigie/testdata/vtest.mp4 missing (make test-data)");
        return None;
    }
    let audit_dir = tempfile::tempdir().expect("tempdir");
    let key = Arc::new(vigie_audit::InstanceKey::load_or_create(&audit_dir.path().join("instance.key")).expect("key"));
    let log = vigie_audit::AuditLog::open(&audit_dir.path().join("audit.db"), key).expect("audit log");
    let recordings = audit_dir.path().join("recordings");
    std::fs::create_dir_all(&recordings).expect("mkdir");
    let rec = recordings.clone();
    let e = env_with(move |a| {
        a.audit = Some(Arc::new(std::sync::Mutex::new(log)));
        a.recordings = Some(rec);
        if !masks.is_empty() {
            a.privacy_masks.insert("gate".into(), masks);
        }
    });
    let now = vigie_server::unix_ms();
    let t0 = now - 3_600_000;
    let dir = vigie_store::RecordingDir::open(&recordings).expect("recording dir");
    e.api
        .with_store(|s| {
            let cam = s.ensure_camera("gate")?;
            let (_, path) = dir.segment_path("gate", t0)?;
            std::fs::copy(&footage, &path)
                .map_err(|e| vigie_core::Error::wrap(vigie_core::ErrorKind::Io, "copy", e))?;
            s.commit_segment(
                &dir,
                &vigie_store::NewSegment {
                    camera: cam,
                    start_unix_ms: t0,
                    duration_90k: 60 * 90_000,
                    frames: 600,
                    codec: vigie_core::VideoCodec::H264,
                    width: 768,
                    height: 576,
                    sha256: None,
                },
            )?;
            let run = s.begin_run(&NewRun {
                source: "gate".into(),
                source_kind: SourceKind::Camera,
                started_unix_ms: t0,
                analysis_fps: 5.0,
                width: 768,
                height: 576,
                model: "m".into(),
            })?;
            s.set_run_camera(run, "gate", t0, None)?;
            {
                let mut w = s.writer(run);
                for (id, class) in [(1u64, "car"), (2, "person")] {
                    let tid = vigie_core::TrackId(std::num::NonZeroU64::new(id).expect("id"));
                    let b = BBox::new(300.0, 200.0, 420.0, 440.0);
                    w.push_box(tid, Time90k(90_000), b, 0.9)?;
                    w.push_box(tid, Time90k(5 * 90_000), b, 0.9)?;
                    w.end_track(&vigie_core::TrackSummary {
                        track_id: tid,
                        class: class.into(),
                        class_confidence: 1.0,
                        first: Time90k(90_000),
                        last: Time90k(5 * 90_000),
                        frames: 2,
                        max_score: 0.9,
                        best_box: b,
                        best: Time90k(3 * 90_000),
                    })?;
                }
                w.finish()?;
            }
            for (reference, investigators, from) in [
                ("PV-1", vec!["investigator".to_string(), "hall-only".into()], t0 - 1000),
                ("PV-2", vec!["other".into()], t0 - 1000),
                ("PV-LATER", vec!["investigator".into()], t0 + 30_000),
                ("PV-EDGE", vec!["investigator".into()], t0 + 2500),
                ("PV-MID", vec!["investigator".into()], t0 + 3500),
            ] {
                s.open_case(&vigie_store::NewCase {
                    reference: reference.into(),
                    authority: "Parquet".into(),
                    cameras: vec!["gate".into()],
                    from_unix_ms: from,
                    to_unix_ms: now,
                    investigators,
                    opened_by: "test".into(),
                    created_unix_ms: now - 1000,
                    expires_unix_ms: now + 86_400_000,
                    plates_allowed: false,
                })?;
            }
            Ok(())
        })
        .expect("recording, tracks and cases");
    Some((e, audit_dir, t0, now))
}

/// The thumbnail of a search hit and the recording at a moment (issue 8): inside the case's cameras and window
/// only (404 outside), people blurred, both logged. Needs the demo footage (`make test-data`) as a recording.
#[tokio::test]
async fn case_thumbnails_and_recordings_stay_inside_the_case() {
    let Some((e, audit_dir, t0, now)) = case_media_env(Vec::new()) else {
        return;
    };
    add_user(&e, "investigator", Role::Investigator, None);
    add_user(&e, "hall-only", Role::Investigator, Some(vec!["hall"]));
    let (_, c) = login(&e.app, "investigator", PASSWORD).await;
    let get = |path: String| {
        let (app, c) = (e.app.clone(), c.clone());
        async move { call(&app, &c, Method::GET, &path, None).await }
    };
    let hits = get("/api/cases/PV-1/search".into()).await.json();
    let run = hits[0]["run"].as_i64().expect("a hit");

    // Thumbnails: decoded from the recording at the best box's time, the box's size with a margin.
    let car = get(format!("/api/cases/PV-1/tracks/{run}/1/thumb.jpg")).await;
    assert_eq!(car.status, StatusCode::OK, "{}", car.text());
    assert_eq!(car.headers["content-type"], "image/jpeg");
    let car_img = image::load_from_memory(&car.body).expect("a JPEG").into_rgb8();
    let (w, h) = car_img.dimensions();
    assert!(
        h == 160 && (78..=80).contains(&w),
        "156x312 (120x240 + 15 % each side) scaled to 160 high: {w}x{h}"
    );
    let person = get(format!("/api/cases/PV-1/tracks/{run}/2/thumb.jpg")).await;
    assert_eq!(person.status, StatusCode::OK, "{}", person.text());
    let person_img = image::load_from_memory(&person.body).expect("a JPEG").into_rgb8();
    let edges = |img: &image::RgbImage| {
        let (w, h) = img.dimensions();
        let mut sum = 0u64;
        for y in 0..h {
            for x in 1..w {
                sum += u64::from(img.get_pixel(x, y)[1].abs_diff(img.get_pixel(x - 1, y)[1]));
            }
        }
        sum as f64 / f64::from(w * h)
    };
    assert!(
        edges(&person_img) < edges(&car_img) / 2.0,
        "the person is blurred: {} vs {}",
        edges(&person_img),
        edges(&car_img)
    );
    for (path, why) in [
        (format!("/api/cases/PV-1/tracks/{run}/9/thumb.jpg"), "unknown track"),
        (format!("/api/cases/PV-1/tracks/{run}/x/thumb.jpg"), "not a number"),
        (format!("/api/cases/PV-1/tracks/{}/1/thumb.jpg", run + 1), "another run"),
        (format!("/api/cases/PV-2/tracks/{run}/1/thumb.jpg"), "not on the case"),
        (
            format!("/api/cases/PV-LATER/tracks/{run}/1/thumb.jpg"),
            "before the case's window",
        ),
    ] {
        assert_eq!(get(path).await.status, StatusCode::NOT_FOUND, "{why}");
    }

    // The recording at a moment: an MP4 from the case's window, 404 outside it or its cameras.
    let at = t0 + 3000;
    let r = get(format!("/api/cases/PV-1/recording.mp4?camera=gate&at_unix_ms={at}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "video/mp4");
    assert!(
        r.body.len() > 10_000 && &r.body[4..8] == b"ftyp",
        "an MP4 of {} bytes",
        r.body.len()
    );
    assert_eq!(
        r.headers["x-vigie-start-unix-ms"],
        (at - 10_000).max(t0 - 1000).to_string().as_str()
    );
    for (path, why) in [
        (
            format!("/api/cases/PV-1/recording.mp4?camera=hall&at_unix_ms={at}"),
            "camera outside the case",
        ),
        (
            format!("/api/cases/PV-1/recording.mp4?camera=gate&at_unix_ms={}", now + 1000),
            "after the window",
        ),
        (
            format!("/api/cases/PV-1/recording.mp4?camera=gate&at_unix_ms={}", t0 - 5000),
            "before the window",
        ),
        (
            format!("/api/cases/PV-LATER/recording.mp4?camera=gate&at_unix_ms={at}"),
            "before that case's window",
        ),
        (
            format!("/api/cases/PV-2/recording.mp4?camera=gate&at_unix_ms={at}"),
            "not on the case",
        ),
    ] {
        assert_eq!(get(path).await.status, StatusCode::NOT_FOUND, "{why}");
    }
    // Starting at the case's window: re-encoded from that moment, nothing before it.
    let r = get(format!("/api/cases/PV-EDGE/recording.mp4?camera=gate&at_unix_ms={at}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["x-vigie-start-unix-ms"], (t0 + 2500).to_string().as_str());
    let clip = audit_dir.path().join("edge.mp4");
    std::fs::write(&clip, &r.body).expect("write");
    let mut reader = vigie_video::PacketReader::open(&clip).expect("an MP4");
    let first = reader.next_frame().expect("read").expect("a frame");
    assert!(
        first.is_key && first.pts.0 >= 0,
        "starts with a key frame at the window: {:?}",
        first.pts
    );
    // A track in the window whose best picture is not: no thumbnail.
    let r = get(format!("/api/cases/PV-MID/tracks/{run}/1/thumb.jpg")).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "best picture before the window: {}",
        r.text()
    );
    let r = get("/api/cases/PV-1/recording.mp4?camera=gate".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no moment: {}", r.text());

    // An investigator on the case who may not see its camera gets nothing of it.
    let (_, h) = login(&e.app, "hall-only", PASSWORD).await;
    for path in [
        format!("/api/cases/PV-1/tracks/{run}/1/thumb.jpg"),
        format!("/api/cases/PV-1/recording.mp4?camera=gate&at_unix_ms={at}"),
    ] {
        let r = call(&e.app, &h, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "camera not visible: {path}");
    }

    let mut out = Vec::new();
    vigie_audit::AuditReader::open(&audit_dir.path().join("audit.db"))
        .expect("reader")
        .export_jsonl(None, None, &mut out)
        .expect("export");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("result thumbnails"), "{text}");
    assert_eq!(text.matches("case recording view").count(), 2, "{text}");
}

/// A camera's privacy masks (issue 7) hide what they cover in a case's thumbnails too: without the mask the car's
/// thumbnail has image content, with a mask over the whole frame none.
#[tokio::test]
async fn case_thumbnails_keep_the_privacy_masks() {
    let mask = vigie_core::MaskConfig {
        name: "all".into(),
        points: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
    };
    let spread = |bytes: &[u8]| {
        let img = image::load_from_memory(bytes).expect("a JPEG").into_rgb8();
        let v: Vec<f64> = img.pixels().map(|p| f64::from(p[1])).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64
    };
    let mut seen = Vec::new();
    for masks in [Vec::new(), vec![mask]] {
        let Some((e, _audit, t0, _)) = case_media_env(masks) else {
            return;
        };
        add_user(&e, "investigator", Role::Investigator, None);
        let (_, c) = login(&e.app, "investigator", PASSWORD).await;
        let hits = call(&e.app, &c, Method::GET, "/api/cases/PV-1/search", None)
            .await
            .json();
        let run = hits[0]["run"].as_i64().unwrap_or_else(|| panic!("a hit: {hits}"));
        let r = call(
            &e.app,
            &c,
            Method::GET,
            &format!("/api/cases/PV-1/tracks/{run}/1/thumb.jpg"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        seen.push(spread(&r.body));
        let at = t0 + 3000;
        let r = call(
            &e.app,
            &c,
            Method::GET,
            &format!("/api/cases/PV-1/recording.mp4?camera=gate&at_unix_ms={at}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    assert!(seen[0] > 100.0, "unmasked: image content ({})", seen[0]);
    assert!(seen[1] < 5.0, "masked: no image content ({})", seen[1]);
}

/// Issue 7: "Auditors can browse and export it." The auditor sees what other users did (filters by actor, action and
/// period, pages by seq), exports JSON lines (the export itself logged), and verifies the log intact; no other
/// role may read it.
#[tokio::test]
async fn auditors_browse_export_and_verify_the_audit_log() {
    let audit_dir = tempfile::tempdir().expect("tempdir");
    let key = Arc::new(vigie_audit::InstanceKey::load_or_create(&audit_dir.path().join("instance.key")).expect("key"));
    let log = vigie_audit::AuditLog::open(&audit_dir.path().join("audit.db"), key).expect("audit log");
    let e = env_with(|a| a.audit = Some(Arc::new(std::sync::Mutex::new(log))));
    for role in Role::ALL {
        add_user(&e, role.as_str(), role, None);
    }
    // Other users act: logins (logged), a failed login, an authorisation (config_change by the admin).
    let (_, admin) = login(&e.app, "admin", PASSWORD).await;
    let r = call(
        &e.app,
        &admin,
        Method::POST,
        "/api/authorisations",
        Some(&authorisation_body("gate", "intrusion", 0, i64::MAX)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let (r, _) = login(&e.app, "operator", "wrong password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let (_, c) = login(&e.app, "auditor", PASSWORD).await;

    let r = call(&e.app, &c, Method::GET, "/api/audit", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = r.json();
    let entries = page["entries"].as_array().cloned().unwrap_or_default();
    assert!(entries.len() >= 4, "{page}");
    let seqs: Vec<i64> = entries.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "admin" && e["action"] == "config_change" && e["detail"]["reference"].is_string()),
        "the admin's authorisation: {page}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64))
    );
    assert!(page["next_before_seq"].is_null(), "one page: {page}");

    // Filters.
    let r = call(
        &e.app,
        &c,
        Method::GET,
        "/api/audit?actor=admin&action=config_change",
        None,
    )
    .await;
    let only = r.json()["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(only.len(), 1, "{}", r.text());
    let r = call(&e.app, &c, Method::GET, "/api/audit?action=login_failed", None).await;
    let failed = r.json()["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        !failed.is_empty() && failed.iter().all(|e| e["action"] == "login_failed"),
        "{}",
        r.text()
    );
    let at = only[0]["at_unix_ms"].as_i64().expect("at");
    let r = call(
        &e.app,
        &c,
        Method::GET,
        &format!("/api/audit?from_unix_ms={}&action=config_change", at + 1),
        None,
    )
    .await;
    assert_eq!(r.json()["entries"].as_array().map(Vec::len), Some(0), "{}", r.text());
    // Pages: limit 2, then before_seq.
    let r = call(&e.app, &c, Method::GET, "/api/audit?limit=2", None).await;
    let p1 = r.json();
    assert_eq!(p1["entries"].as_array().map(Vec::len), Some(2), "{p1}");
    let next = p1["next_before_seq"].as_i64().expect("a next page");
    let r = call(
        &e.app,
        &c,
        Method::GET,
        &format!("/api/audit?limit=2&before_seq={next}"),
        None,
    )
    .await;
    let p2 = r.json();
    assert_eq!(p2["entries"][0]["seq"].as_i64(), Some(seqs[2]), "{p2}");
    // Bad input is 400.
    for q in [
        "action=dance",
        "limit=0",
        "limit=100000",
        "from_unix_ms=soon",
        "colour=red",
    ] {
        let r = call(&e.app, &c, Method::GET, &format!("/api/audit?{q}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{q}");
    }

    // Export: JSON lines, an attachment, the same lines as `vigie audit export`; and itself logged.
    let r = call(&e.app, &c, Method::GET, "/api/audit/export", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/x-ndjson");
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .is_ok_and(|v| v.starts_with("attachment"))
    );
    let text = r.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(lines.iter().all(|l| l["type"] == "entry" || l["type"] == "checkpoint"));
    let last = lines.last().expect("lines");
    assert_eq!(
        (&last["actor"], &last["action"], &last["target"]),
        (
            &serde_json::json!("auditor"),
            &serde_json::json!("export"),
            &serde_json::json!("audit")
        ),
        "the export is logged before it is made: {last}"
    );
    let mut cli = Vec::new();
    vigie_audit::AuditReader::open(&audit_dir.path().join("audit.db"))
        .expect("reader")
        .export_jsonl(None, None, &mut cli)
        .expect("export");
    assert_eq!(text, String::from_utf8_lossy(&cli), "the same as `vigie audit export`");
    let r = call(
        &e.app,
        &c,
        Method::GET,
        &format!("/api/audit/export?from_unix_ms={}&to_unix_ms={}", at, at + 1),
        None,
    )
    .await;
    assert_eq!(
        r.text().lines().count(),
        1,
        "one entry in that millisecond: {}",
        r.text()
    );
    let r = call(&e.app, &c, Method::GET, "/api/audit?actor=auditor&action=export", None).await;
    assert_eq!(r.json()["entries"].as_array().map(Vec::len), Some(2), "{}", r.text());

    // Verify: intact.
    let r = call(&e.app, &c, Method::GET, "/api/audit/verify", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["problem"].is_null());
    assert!(v["entries"].as_u64().is_some_and(|n| n >= 6), "{v}");

    // An edited entry: verify names it (the auditor's screen shows it at the top).
    {
        let c = rusqlite::Connection::open(audit_dir.path().join("audit.db")).expect("attacker");
        c.execute_batch("drop trigger audit_entry_no_update; update audit_entry set target = 'nobody' where seq = 2;")
            .expect("tamper");
    }
    let r = call(&e.app, &c, Method::GET, "/api/audit/verify", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(
        (v["problem"]["seq"].as_i64(), v["problem"]["kind"].as_str()),
        (Some(2), Some("edited")),
        "{v}"
    );

    // No other role reads it.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Auditor) {
        let (_, c) = login(&e.app, role.as_str(), PASSWORD).await;
        for path in ["/api/audit", "/api/audit/export", "/api/audit/verify"] {
            let r = call(&e.app, &c, Method::GET, path, None).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{path} as {}: {}",
                role.as_str(),
                r.text()
            );
        }
    }
}
