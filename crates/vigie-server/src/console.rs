//! The operator console (issue 6, design/0003): static HTML, CSS and JavaScript modules from `console/`, embedded
//! in the binary and served at `/` and `/assets/...`, no login needed to load them (the API checks every call).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// Each asset: URL path, content type, bytes.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", HTML, include_bytes!("../console/index.html")),
    ("/assets/style.css", CSS, include_bytes!("../console/assets/style.css")),
    (
        "/assets/favicon.svg",
        SVG,
        include_bytes!("../console/assets/favicon.svg"),
    ),
    ("/assets/app.js", JS, include_bytes!("../console/assets/app.js")),
    ("/assets/api.js", JS, include_bytes!("../console/assets/api.js")),
    ("/assets/i18n.js", JS, include_bytes!("../console/assets/i18n.js")),
    ("/assets/overlay.js", JS, include_bytes!("../console/assets/overlay.js")),
    ("/assets/grid.js", JS, include_bytes!("../console/assets/grid.js")),
    ("/assets/alerts.js", JS, include_bytes!("../console/assets/alerts.js")),
    ("/assets/event.js", JS, include_bytes!("../console/assets/event.js")),
    ("/assets/zones.js", JS, include_bytes!("../console/assets/zones.js")),
    ("/assets/parking.js", JS, include_bytes!("../console/assets/parking.js")),
    ("/assets/users.js", JS, include_bytes!("../console/assets/users.js")),
    ("/assets/search.js", JS, include_bytes!("../console/assets/search.js")),
    (
        "/assets/accuracy.js",
        JS,
        include_bytes!("../console/assets/accuracy.js"),
    ),
    (
        "/assets/authorisations.js",
        JS,
        include_bytes!("../console/assets/authorisations.js"),
    ),
    ("/assets/audit.js", JS, include_bytes!("../console/assets/audit.js")),
];

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Only this origin: nothing is fetched from outside, no inline script.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; \
                   connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `GET` routes for every embedded asset (`/` is index.html), and the public register's page
/// ([`crate::register::ASSETS`]).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS
        .iter()
        .chain(crate::register::ASSETS)
        .fold(Router::new(), |r, &(path, content_type, body)| {
            r.route(
                path,
                get(move || async move {
                    (
                        [
                            (header::CONTENT_TYPE, content_type),
                            (header::CACHE_CONTROL, "no-cache"),
                            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                            (header::CONTENT_SECURITY_POLICY, CSP),
                        ],
                        body,
                    )
                        .into_response()
                }),
            )
        })
}
