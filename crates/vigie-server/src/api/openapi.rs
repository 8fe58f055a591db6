//! `/api/openapi.json`, generated from the route table.

use axum::Json;
use serde_json::{Map, Value, json};

/// The OpenAPI 3.1 document of [`super::routes`].
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in super::routes() {
        let path = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "description": format!(
                "Permission: {}{}.",
                r.perm.name(),
                if r.camera { ", and the camera in the user's list (404 otherwise)" } else { "" }
            ),
            "parameters": params,
            "responses": {
                "200": {"description": r.response},
                "400": {"description": "bad input: {\"error\": ...}"},
                "401": {"description": "not logged in"},
                "403": {"description": "role without the permission, missing X-CSRF-Token, or refused by the route's rule (its summary says which)"},
                "404": {"description": "not found, or not visible to the user"},
            },
            "x-permission": r.perm.name(),
        });
        if r.perm != super::Perm::Public {
            op["security"] = json!([{"session": []}]);
        }
        if let Some(req) = r.request {
            op["requestBody"] = json!({
                "required": true,
                "description": req,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{req}")}}},
            });
        }
        path[r.method.as_str().to_ascii_lowercase()] = op;
    }
    let schema_names = ["Login", "Zones", "Decision", "NewUser"];
    let schemas: Map<String, Value> = schema_names
        .iter()
        .map(|n| ((*n).to_owned(), json!({"type": "object"})))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Vigie console API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "See design/0003-console-api.md. Errors are {\"error\": message}."},
        "paths": paths,
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": super::COOKIE}},
            "schemas": schemas,
        },
    })
}

pub async fn handler() -> Json<Value> {
    Json(document())
}
