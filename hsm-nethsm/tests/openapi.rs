//! The simulator's answers against the official OpenAPI spec (`shared/reference/nethsm-api.yaml`,
//! vendored as `tests/data/nethsm-api.yaml`): for a sample of requests in every state and role,
//! the status code must be one the spec documents for that operation, and a JSON body must
//! validate against the documented schema (types, required and known properties, enums,
//! patterns, lengths, `$ref`s).
#![allow(clippy::panic, clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use base64::Engine as _;
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, SimConfig, Simulator};
use serde_json::{Value, json};
use support::{ADMIN, OPERATOR, RawApi, default_sim, multipart_form, unprovisioned_sim};

fn spec() -> Value {
    let text = include_str!("data/nethsm-api.yaml");
    serde_norway::from_str(text).unwrap()
}

/// Follows `$ref`s to the schema they name.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap();
            resolve(
                spec,
                spec.pointer(pointer).unwrap_or_else(|| panic!("no {r}")),
            )
        }
        None => schema,
    }
}

/// Validates `value` against `schema`; returns the violations.
fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    for key in ["allOf"] {
        if let Some(all) = schema.get(key).and_then(Value::as_array) {
            for s in all {
                validate(spec, s, value, at, errors);
            }
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(any) = schema.get(key).and_then(Value::as_array) {
            let matching = any
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    validate(spec, s, value, at, &mut e);
                    e.is_empty()
                })
                .count();
            if matching == 0 {
                errors.push(format!("{at}: matches none of {key}"));
            }
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    let type_ok = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        other => panic!("type {other}"),
    };
    if !type_ok {
        errors.push(format!("{at}: {value} is not of type {ty}"));
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = required.as_str().unwrap();
                if !map.contains_key(name) {
                    errors.push(format!("{at}: missing required {name}"));
                }
            }
            for (name, v) in map {
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => validate(spec, s, v, &format!("{at}.{name}"), errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Object(_)) => validate(
                            spec,
                            &schema["additionalProperties"],
                            v,
                            &format!("{at}.{name}"),
                            errors,
                        ),
                        Some(Value::Bool(true)) => {}
                        _ => errors.push(format!("{at}: property {name} is not in the schema")),
                    },
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    validate(spec, s, v, &format!("{at}[{i}]"), errors);
                }
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                errors.push(format!("{at}: shorter than {min}"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errors.push(format!("{at}: longer than {max}"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                && !regex::Regex::new(pattern).unwrap().is_match(s)
            {
                errors.push(format!("{at}: {s:?} does not match {pattern}"));
            }
        }
        _ => {}
    }
}

/// Sends requests to the simulator and checks each answer against the spec.
struct Checker {
    spec: Value,
    runtime: tokio::runtime::Runtime,
    api: RawApi,
    /// (method, path template, status) seen.
    seen: BTreeSet<(String, String, u16)>,
}

impl Checker {
    fn new(sim: &Simulator) -> Self {
        Self {
            spec: spec(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            api: RawApi::new(sim),
            seen: BTreeSet::new(),
        }
    }

    /// Sends `method path` (the template's `{X}` filled from `args`), checks the answer against
    /// the spec, returns the status and JSON body.
    fn check(
        &mut self,
        method: &str,
        template: &str,
        args: &[&str],
        user: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| ("application/json".to_owned(), b.to_string().into_bytes()));
        let (status, value, _) = self.check_raw(method, template, args, user, body);
        (status, value)
    }

    /// [`Self::check`] with a body of any type; also returns the answer's bytes.
    fn check_raw(
        &mut self,
        method: &str,
        template: &str,
        args: &[&str],
        user: Option<(&str, &str)>,
        body: Option<(String, Vec<u8>)>,
    ) -> (u16, Value, Vec<u8>) {
        let mut path = template.to_owned();
        for arg in args {
            let start = path.find('{').unwrap();
            let end = path.find('}').unwrap();
            path.replace_range(start..=end, arg);
        }
        let body = body.as_ref().map(|(t, b)| (t.as_str(), b.clone()));
        let request = self.api.request(method, &path, user, body);
        let (status, content_type, bytes) = self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, content_type, response.bytes().await.unwrap())
        });
        let operation = self
            .spec
            .pointer(&format!(
                "/paths/{}/{}",
                template.replace('~', "~0").replace('/', "~1"),
                method.to_lowercase()
            ))
            .unwrap_or_else(|| panic!("{method} {template} is not in the spec"));
        let documented = operation["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| {
                panic!("{method} {path}: status {status} is not documented for the operation")
            });
        let schema = documented
            .pointer("/content/application~1json/schema")
            .cloned();
        let value = if content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/json"))
        {
            serde_json::from_slice(&bytes).unwrap()
        } else {
            Value::Null
        };
        if let Some(schema) = schema {
            assert!(
                content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("application/json")),
                "{method} {path} {status}: JSON documented, got {content_type:?}"
            );
            let mut errors = Vec::new();
            validate(&self.spec, &schema, &value, "$", &mut errors);
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {value} violates the schema: {errors:#?}"
            );
        }
        // Other documented content (PEM, octets): the answer has that type.
        if let Some(types) = documented.get("content").and_then(Value::as_object) {
            assert!(
                types.keys().any(|t| content_type
                    .as_deref()
                    .is_some_and(|c| c.starts_with(t.as_str()))),
                "{method} {path} {status}: {content_type:?} is not one of {:?}",
                types.keys().collect::<Vec<_>>()
            );
        }
        let _ = self
            .seen
            .insert((method.to_owned(), template.to_owned(), status));
        (status, value, bytes.to_vec())
    }
}

#[test]
fn simulator_answers_follow_the_openapi_spec() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let unprovisioned = unprovisioned_sim(&runtime);
    let mut c = Checker::new(&unprovisioned);
    assert_eq!(c.check("GET", "/health/state", &[], None, None).0, 200);
    // Alive means started but not ready: Locked or Unprovisioned.
    assert_eq!(c.check("GET", "/health/alive", &[], None, None).0, 200);
    assert_eq!(c.check("GET", "/health/ready", &[], None, None).0, 412);
    assert_eq!(c.check("GET", "/keys", &[], ADMIN, None).0, 412);
    let weak = json!({"unlockPassphrase": "short", "adminPassphrase": "short",
                      "systemTime": "2026-11-22T00:00:00Z"});
    assert_eq!(c.check("POST", "/provision", &[], None, Some(weak)).0, 400);
    let good = json!({"unlockPassphrase": "unlock-passphrase", "adminPassphrase": ADMIN_PASSPHRASE,
                      "systemTime": "2026-11-22T00:00:00Z"});
    assert_eq!(
        c.check("POST", "/provision", &[], None, Some(good.clone()))
            .0,
        204
    );
    assert_eq!(c.check("POST", "/provision", &[], None, Some(good)).0, 412);
    let mut seen = c.seen;

    let sim = Simulator::start(SimConfig::default(), runtime.handle()).unwrap();
    let mut c = Checker::new(&sim);
    assert_eq!(c.check("GET", "/info", &[], None, None).0, 200);
    assert_eq!(c.check("GET", "/health/ready", &[], None, None).0, 200);
    assert_eq!(c.check("GET", "/health/alive", &[], None, None).0, 412);
    // Keys: generate (each type), list, get, public key, sign, errors.
    for (id, ty, mechanism, length) in [
        ("oaP256", "EC_P256", "ECDSA_Signature", None),
        ("oaRsa", "RSA", "RSA_Signature_PSS_SHA256", Some(2048)),
        ("oaEd", "Curve25519", "EdDSA_Signature", None),
    ] {
        let mut body = json!({"mechanisms": [mechanism], "type": ty, "id": id});
        if let Some(l) = length {
            body["length"] = json!(l);
        }
        let (status, created) = c.check("POST", "/keys/generate", &[], ADMIN, Some(body));
        assert_eq!(status, 201);
        assert_eq!(created["id"], id);
        let (status, key) = c.check("GET", "/keys/{KeyID}", &[id], OPERATOR, None);
        assert_eq!((status, key["type"].as_str()), (200, Some(ty)));
        assert_eq!(
            c.check("GET", "/keys/{KeyID}/public.pem", &[id], OPERATOR, None)
                .0,
            200
        );
    }
    let digest = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let (status, signed) = c.check(
        "POST",
        "/keys/{KeyID}/sign",
        &["oaP256"],
        OPERATOR,
        Some(json!({"mode": "ECDSA", "message": digest})),
    );
    assert_eq!(status, 200);
    assert!(signed["signature"].is_string());
    let dn = json!({"commonName": "oa.example.net", "countryName": "NL"});
    let (status, _) = c.check(
        "POST",
        "/keys/{KeyID}/csr.pem",
        &["oaP256"],
        OPERATOR,
        Some(dn),
    );
    assert_eq!(status, 200);
    let (status, list) = c.check("GET", "/keys", &[], OPERATOR, None);
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(3)));
    let (status, _) = c.check("GET", "/keys/{KeyID}", &["nokey"], OPERATOR, None);
    assert_eq!(status, 404);
    // Wrong mode for the key, unknown JSON field, no credentials, wrong role, duplicate id.
    let (status, _) = c.check(
        "POST",
        "/keys/{KeyID}/sign",
        &["oaP256"],
        OPERATOR,
        Some(json!({"mode": "EdDSA", "message": digest})),
    );
    assert_eq!(status, 400);
    let (status, _) = c.check(
        "POST",
        "/keys/{KeyID}/sign",
        &["oaP256"],
        OPERATOR,
        Some(json!({"mode": "ECDSA", "message": digest, "colour": "blue"})),
    );
    assert_eq!(status, 400);
    assert_eq!(c.check("GET", "/keys", &[], None, None).0, 401);
    let body = json!({"mechanisms": ["ECDSA_Signature"], "type": "EC_P256", "id": "oaP256"});
    assert_eq!(
        c.check("POST", "/keys/generate", &[], OPERATOR, Some(body.clone()))
            .0,
        403
    );
    // A taken id: 400, as the device answers (the spec says 409; nethsm.md section 11).
    assert_eq!(
        c.check("POST", "/keys/generate", &[], ADMIN, Some(body)).0,
        400
    );
    // Users.
    let (status, users) = c.check("GET", "/users", &[], ADMIN, None);
    assert_eq!((status, users.as_array().map(Vec::len)), (200, Some(2)));
    let new_user = json!({"realName": "Jane", "role": "Operator", "passphrase": "jane-passphrase"});
    assert_eq!(
        c.check(
            "PUT",
            "/users/{UserID}",
            &["jane"],
            ADMIN,
            Some(new_user.clone())
        )
        .0,
        201
    );
    let (status, created) = c.check("POST", "/users", &[], ADMIN, Some(new_user));
    assert_eq!(status, 201);
    assert!(created["id"].is_string());
    let (status, user) = c.check("GET", "/users/{UserID}", &["jane"], ADMIN, None);
    assert_eq!((status, &user["role"]), (200, &json!("Operator")));
    assert_eq!(
        c.check("GET", "/users/{UserID}", &["admin"], OPERATOR, None)
            .0,
        403
    );
    assert_eq!(
        c.check("DELETE", "/users/{UserID}", &["jane"], ADMIN, None)
            .0,
        204
    );
    assert_eq!(
        c.check("DELETE", "/users/{UserID}", &["jane"], ADMIN, None)
            .0,
        404
    );
    assert_eq!(
        c.check("DELETE", "/keys/{KeyID}", &["oaEd"], ADMIN, None).0,
        204
    );
    seen.extend(c.seen);
    assert!(seen.len() >= 25, "{seen:?}");
}

#[test]
fn device_and_key_management_answers_follow_the_openapi_spec() {
    let (_runtime, sim) = default_sim();
    let mut c = Checker::new(&sim);
    let ok = |status: u16| (200..300).contains(&status);
    // Namespaces and namespaced users.
    assert_eq!(
        c.check("PUT", "/namespaces/{NamespaceID}", &["oans"], ADMIN, None)
            .0,
        204
    );
    assert_eq!(
        c.check("PUT", "/namespaces/{NamespaceID}", &["oans"], ADMIN, None)
            .0,
        409
    );
    let (status, list) = c.check("GET", "/namespaces", &[], ADMIN, None);
    assert_eq!((status, list), (200, json!([{"id": "oans"}])));
    let user = json!({"realName": "N", "role": "Administrator", "passphrase": "ns-passphrase"});
    let (status, created) = c.check("POST", "/users/{UserID}", &["oans~"], ADMIN, Some(user));
    assert_eq!(status, 201);
    assert!(created["id"].as_str().unwrap().starts_with("oans~"));
    // Every configuration getter, then a setter each.
    for path in [
        "/config/unattended-boot",
        "/config/time",
        "/config/ntp",
        "/config/logging",
        "/config/network",
        "/config/tls/public.pem",
        "/config/tls/cert.pem",
    ] {
        let (status, _) = c.check("GET", path, &[], ADMIN, None);
        assert_eq!(status, 200, "{path}");
        assert_eq!(c.check("GET", path, &[], OPERATOR, None).0, 403, "{path}");
    }
    for (path, body) in [
        ("/config/unattended-boot", json!({"status": "on"})),
        ("/config/time", json!({"time": "2030-01-01T00:00:00Z"})),
        ("/config/ntp", json!({"ntpIP": "192.0.2.1"})),
        (
            "/config/logging",
            json!({"ipAddress": "192.0.2.2", "port": 514, "logLevel": "error"}),
        ),
        (
            "/config/network",
            json!({"ipAddress": "192.0.2.3", "netmask": "255.255.255.0", "gateway": "192.0.2.1"}),
        ),
        (
            "/config/backup-passphrase",
            json!({"newPassphrase": "backup-passphrase", "currentPassphrase": ""}),
        ),
    ] {
        assert_eq!(
            c.check("PUT", path, &[], ADMIN, Some(body)).0,
            204,
            "{path}"
        );
    }
    assert_eq!(
        c.check(
            "PUT",
            "/config/logging",
            &[],
            ADMIN,
            Some(json!({"ipAddress": "x", "port": 514, "logLevel": "loud"}))
        )
        .0,
        400
    );
    let dn = json!({"commonName": "tls.example.net"});
    assert_eq!(
        c.check("POST", "/config/tls/csr.pem", &[], ADMIN, Some(dn))
            .0,
        200
    );
    assert_eq!(
        c.check("GET", "/config/tls/cluster-ca.pem", &[], ADMIN, None)
            .0,
        404
    );
    // Diagnosis, cluster, system.
    assert_eq!(c.check("GET", "/health/diagnose", &[], ADMIN, None).0, 200);
    assert_eq!(
        c.check("GET", "/health/diagnose", &[], OPERATOR, None).0,
        403
    );
    assert_eq!(c.check("GET", "/cluster/members", &[], ADMIN, None).0, 200);
    let (status, _) = c.check(
        "POST",
        "/cluster/members",
        &[],
        ADMIN,
        Some(json!({"urls": ["https://192.0.2.9:2380"]})),
    );
    assert_eq!(status, 201);
    assert_eq!(
        c.check("POST", "/cluster/force-new", &[], ADMIN, None).0,
        412
    );
    assert_eq!(c.check("GET", "/system/info", &[], ADMIN, None).0, 200);
    assert_eq!(
        c.check("POST", "/system/cancel-update", &[], ADMIN, None).0,
        412
    );
    // Keys: AES encrypt and decrypt, move, labels, prefix listing.
    let aes = json!({"mechanisms": ["AES_Encryption_CBC", "AES_Decryption_CBC"],
                     "type": "Generic", "length": 128, "id": "oaAes", "label": "sym"});
    assert_eq!(
        c.check("POST", "/keys/generate", &[], ADMIN, Some(aes)).0,
        201
    );
    let (status, key) = c.check("GET", "/keys/{KeyID}", &["oaAes"], ADMIN, None);
    assert_eq!((status, &key["label"]), (200, &json!("sym")));
    let block = base64::engine::general_purpose::STANDARD.encode([3u8; 32]);
    let (status, encrypted) = c.check(
        "POST",
        "/keys/{KeyID}/encrypt",
        &["oaAes"],
        OPERATOR,
        Some(json!({"mode": "AES_CBC", "message": block})),
    );
    assert_eq!(status, 200);
    let (status, decrypted) = c.check(
        "POST",
        "/keys/{KeyID}/decrypt",
        &["oaAes"],
        OPERATOR,
        Some(
            json!({"mode": "AES_CBC", "encrypted": encrypted["encrypted"],
                    "iv": encrypted["iv"]}),
        ),
    );
    assert_eq!((status, &decrypted["decrypted"]), (200, &json!(block)));
    let (status, moved) = c.check(
        "POST",
        "/keys/{KeyID}/move",
        &["oaAes"],
        ADMIN,
        Some(json!({"newId": "oaAes2"})),
    );
    assert_eq!((status, moved), (200, json!({"id": "oaAes2"})));
    let (status, _) = c.check(
        "PUT",
        "/keys/{KeyID}/label",
        &["oaAes2"],
        ADMIN,
        Some(json!({"label": "renamed"})),
    );
    assert!(ok(status));
    let (status, list) = c.check("GET", "/keys/{KeyPrefix}*", &["oaA"], OPERATOR, None);
    assert_eq!((status, list), (200, json!([{"id": "oaAes2"}])));
    assert_eq!(
        c.check("DELETE", "/keys/{KeyID}/label", &["oaAes2"], ADMIN, None)
            .0,
        204
    );
    let (status, random) = c.check(
        "POST",
        "/random",
        &[],
        OPERATOR,
        Some(json!({"length": 16})),
    );
    assert_eq!(status, 200);
    assert!(random["random"].is_string());
    // The spec's per-request limit, 1 to 1024 bytes: the device's 400 beyond it.
    for (length, expected) in [(1024, 200), (0, 400), (1025, 400)] {
        let (status, _) = c.check(
            "POST",
            "/random",
            &[],
            OPERATOR,
            Some(json!({ "length": length })),
        );
        assert_eq!(status, expected, "length {length}");
    }
    assert_eq!(
        c.check(
            "DELETE",
            "/namespaces/{NamespaceID}",
            &["oans"],
            ADMIN,
            None
        )
        .0,
        204
    );
    // Last: a new TLS key, served to new connections (this checker pinned the old one).
    assert_eq!(
        c.check(
            "POST",
            "/config/tls/generate",
            &[],
            ADMIN,
            Some(json!({"type": "Curve25519"}))
        )
        .0,
        204
    );
    assert!(c.seen.len() >= 40, "{:?}", c.seen);
}

#[test]
fn binary_pem_and_form_bodies_follow_the_openapi_spec() {
    let (_runtime, sim) = default_sim();
    let mut c = Checker::new(&sim);
    let octets = |b: &[u8]| Some(("application/octet-stream".to_owned(), b.to_vec()));
    // A PEM import as a form (201 with the id), a certificate stored and read back as octets.
    let key = p256::SecretKey::from_slice(&[0x24; 32]).unwrap();
    let pem = p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, Default::default()).unwrap();
    let arguments = json!({"mechanisms": ["ECDSA_Signature"], "label": "imported"}).to_string();
    let body = multipart_form(&[
        ("arguments", "application/json", arguments.as_bytes()),
        ("key_file", "application/x-pem-file", pem.as_bytes()),
    ]);
    let (status, created, _) = c.check_raw("POST", "/keys", &[], ADMIN, Some(body.clone()));
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _, _) = c.check_raw("PUT", "/keys/{KeyID}", &["oaPem"], ADMIN, Some(body));
    assert_eq!(status, 204);
    // A key without a certificate: 404, as for a missing key.
    let (status, _, _) = c.check_raw("GET", "/keys/{KeyID}/cert", &[&id], OPERATOR, None);
    assert_eq!(status, 404);
    let (status, _, _) = c.check_raw("GET", "/keys/{KeyID}/cert", &["oaNone"], OPERATOR, None);
    assert_eq!(status, 404);
    let (status, _, _) = c.check_raw(
        "PUT",
        "/keys/{KeyID}/cert",
        &[&id],
        OPERATOR,
        octets(b"certificate"),
    );
    assert_eq!(status, 403, "storing needs the Administrator role");
    let (status, _, _) = c.check_raw(
        "PUT",
        "/keys/{KeyID}/cert",
        &[&id],
        ADMIN,
        octets(b"certificate"),
    );
    assert_eq!(status, 201);
    let (status, _, bytes) = c.check_raw("GET", "/keys/{KeyID}/cert", &[&id], OPERATOR, None);
    assert_eq!((status, bytes.as_slice()), (200, &b"certificate"[..]));
    assert_eq!(
        c.check_raw("PUT", "/keys/{KeyID}/cert", &[&id], ADMIN, octets(b"again"))
            .0,
        409
    );
    assert_eq!(
        c.check("DELETE", "/keys/{KeyID}/cert", &[&id], ADMIN, None)
            .0,
        204
    );
    let (status, _, _) = c.check_raw("GET", "/keys/{KeyID}/public.pem", &[&id], OPERATOR, None);
    assert_eq!(status, 200);
    // An update image: release notes as JSON, then committed.
    let mut image = hsm_nethsm::sim::UPDATE_MAGIC.to_vec();
    image.extend_from_slice(b"notes");
    let (status, notes, _) = c.check_raw("POST", "/system/update", &[], ADMIN, octets(&image));
    assert_eq!((status, notes), (200, json!({"releaseNotes": "notes"})));
    assert_eq!(
        c.check("POST", "/system/commit-update", &[], ADMIN, None).0,
        204
    );
    // The update rebooted the device: Locked until unlocked.
    assert_eq!(c.check("GET", "/keys", &[], ADMIN, None).0, 412);
    let unlock = json!({"passphrase": hsm_nethsm::sim::UNLOCK_PASSPHRASE});
    assert_eq!(c.check("POST", "/unlock", &[], None, Some(unlock)).0, 204);
    // A backup as octets, restored from a form.
    let passphrase = json!({"newPassphrase": "oa-backup-passphrase", "currentPassphrase": ""});
    assert_eq!(
        c.check(
            "PUT",
            "/config/backup-passphrase",
            &[],
            ADMIN,
            Some(passphrase)
        )
        .0,
        204
    );
    let backup_user = json!({"realName": "B", "role": "Backup", "passphrase": "oa-backup-user"});
    assert_eq!(
        c.check(
            "PUT",
            "/users/{UserID}",
            &["oabackup"],
            ADMIN,
            Some(backup_user)
        )
        .0,
        201
    );
    let (status, _, file) = c.check_raw(
        "POST",
        "/system/backup",
        &[],
        Some(("oabackup", "oa-backup-user")),
        None,
    );
    assert_eq!(status, 200);
    let arguments = json!({"backupPassphrase": "oa-backup-passphrase"}).to_string();
    let body = multipart_form(&[
        ("arguments", "application/json", arguments.as_bytes()),
        ("backup_file", "application/octet-stream", &file),
    ]);
    assert_eq!(
        c.check_raw("POST", "/system/restore", &[], ADMIN, Some(body))
            .0,
        204
    );
    let wrong = json!({"backupPassphrase": "not-the-passphrase"}).to_string();
    let body = multipart_form(&[
        ("arguments", "application/json", wrong.as_bytes()),
        ("backup_file", "application/octet-stream", &file),
    ]);
    assert_eq!(
        c.check_raw("POST", "/system/restore", &[], ADMIN, Some(body))
            .0,
        400
    );
    // The TLS certificate: one for another key is refused.
    let other = sim.certificate_pem().replace('A', "B");
    let pem_body = Some(("application/x-pem-file".to_owned(), other.into_bytes()));
    assert_eq!(
        c.check_raw("PUT", "/config/tls/cert.pem", &[], ADMIN, pem_body)
            .0,
        400
    );
    // Shutdown last: 204, then the device stops answering.
    assert_eq!(c.check("POST", "/system/shutdown", &[], ADMIN, None).0, 204);
    assert!(c.seen.len() >= 14, "{:?}", c.seen);
}

#[test]
fn a_wrong_accept_header_is_406() {
    let (_runtime, sim) = default_sim();
    let c = Checker::new(&sim);
    let spec = spec();
    for (path, template, accept, expected) in [
        ("/info", "/info", "application/x-pem-file", 406),
        ("/info", "/info", "text/html, application/*;q=0.5", 200),
        ("/keys", "/keys", "application/json;q=0", 406),
        (
            "/config/tls/cert.pem",
            "/config/tls/cert.pem",
            "application/json",
            406,
        ),
        ("/config/tls/cert.pem", "/config/tls/cert.pem", "*/*", 200),
    ] {
        let status = c.runtime.block_on(async {
            c.api
                .http
                .get(format!("{}{path}", c.api.base))
                .basic_auth("admin", Some(ADMIN_PASSPHRASE))
                .header("accept", accept)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert_eq!(status, expected, "{path} with Accept: {accept}");
        let documented = spec
            .pointer(&format!(
                "/paths/{}/get/responses/{status}",
                template.replace('/', "~1")
            ))
            .is_some();
        assert!(documented, "{path}: {status} is not documented");
    }
}

#[test]
fn get_answers_carry_an_etag_for_conditional_requests() {
    let (_runtime, sim) = default_sim();
    let mut c = Checker::new(&sim);
    let body = json!({"mechanisms": ["EdDSA_Signature"], "type": "Curve25519", "id": "etag"});
    assert_eq!(
        c.check("POST", "/keys/generate", &[], ADMIN, Some(body)).0,
        201
    );
    let get = |c: &Checker, tag: Option<&str>| {
        c.runtime.block_on(async {
            let mut request = c
                .api
                .http
                .get(format!("{}/keys/etag", c.api.base))
                .basic_auth("admin", Some(ADMIN_PASSPHRASE));
            if let Some(tag) = tag {
                request = request.header("if-none-match", tag);
            }
            let response = request.send().await.unwrap();
            let etag = response
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status().as_u16();
            (status, etag, response.bytes().await.unwrap().len())
        })
    };
    let (status, etag, len) = get(&c, None);
    let etag = etag.expect("a GET answer has an ETag");
    assert_eq!(status, 200);
    assert!(len > 0);
    let (status, again, len) = get(&c, Some(&etag));
    assert_eq!(
        (status, again.as_deref(), len),
        (304, Some(etag.as_str()), 0)
    );
    // A change makes a new tag.
    let (status, _) = c.check(
        "PUT",
        "/keys/{KeyID}/label",
        &["etag"],
        ADMIN,
        Some(json!({"label": "changed"})),
    );
    assert_eq!(status, 204);
    let (status, changed, _) = get(&c, Some(&etag));
    assert_eq!(status, 200);
    assert_ne!(changed.as_deref(), Some(etag.as_str()));
}

#[test]
fn a_uri_over_2000_characters_is_414() {
    let (_runtime, sim) = default_sim();
    let c = Checker::new(&sim);
    let status = |label: &str| {
        c.runtime.block_on(async {
            c.api
                .http
                .get(format!("{}/keys?label={label}", c.api.base))
                .basic_auth("admin", Some(ADMIN_PASSPHRASE))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(status(&"l".repeat(1900)), 200);
    assert_eq!(status(&"l".repeat(2100)), 414);
}
