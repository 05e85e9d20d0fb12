//! The simulator's HTTPS front: TLS with a certificate for the server name only, HTTP/1.1
//! keep-alive, both APIs, basic auth, latency, and counters of connections and requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine as _;
use hsm_core::secret::{ExposeSecret as _, SecretString};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::device::{Device, Request};
use super::rng::Rng;
use crate::protocol::commands::{Command, CommandTable};
use hsm_simkit::https::ConnectionKill;

/// A fault the next request meets ([`Simulator::inject`](super::Simulator::inject)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer normally (aims the faults after it at later requests).
    Pass,
    /// Read the request and never answer (the connection stays open).
    Stall,
    /// Answer with this HTTP status and a JSON error body, without carrying the command out.
    Refuse(u16),
    /// Carry the command out, then close the connection without answering. The client cannot
    /// know what happened.
    BreakAfterCommit,
    /// The random-number generator fails while this request is served: a command that needs
    /// random numbers (key generation and import, `getrandom`, `encrypt`) is refused with
    /// HTTP 500 and creates nothing; the others are carried out as usual.
    RandomFails,
}

impl IntoIterator for Fault {
    type Item = Fault;
    type IntoIter = std::iter::Once<Fault>;

    /// One fault, for [`Simulator::inject`](crate::sim::Simulator::inject).
    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(self)
    }
}

/// What the handlers share.
pub(crate) struct AppState {
    pub(crate) device: Device,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) allow_anonymous: bool,
    pub(crate) faults: std::sync::Mutex<std::collections::VecDeque<Fault>>,
    /// The network's delay before each request is handled.
    pub(crate) wire: hsm_simkit::wire::Wire,
    pub(crate) connections: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) table: CommandTable,
}

enum Auth {
    Ok,
    Missing,
    Wrong,
}

impl AppState {
    pub(crate) fn faults(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Fault>> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fault this request meets, if any; answers it unless it is `BreakAfterCommit`.
    async fn meet_fault(&self) -> Result<Option<Fault>, Response> {
        let fault = self.faults().pop_front();
        match fault {
            Some(Fault::Stall) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(StatusCode::GATEWAY_TIMEOUT.into_response())
            }
            Some(Fault::Refuse(status)) => Err(answer((
                status,
                serde_json::json!({"result": "ERROR", "error": "injected fault"}),
            ))),
            other => Ok(other),
        }
    }

    /// The random numbers a request meeting `fault` uses.
    fn rng_for(fault: Option<&Fault>) -> Rng {
        if fault == Some(&Fault::RandomFails) {
            Rng::failing_after(0)
        } else {
            Rng::system()
        }
    }

    fn auth(&self, headers: &HeaderMap) -> Auth {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Auth::Missing;
        };
        let decoded = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(zeroize::Zeroizing::new);
        // `user:password`, compared in its parts (no copy of the password is made).
        let matches = decoded.as_deref().is_some_and(|d| {
            d.strip_prefix(self.user.as_bytes())
                .and_then(|rest| rest.strip_prefix(b":"))
                .is_some_and(|password| password == self.password.expose_secret().as_bytes())
        });
        if matches { Auth::Ok } else { Auth::Wrong }
    }

    /// `None` when the request may go on; the refusal otherwise.
    fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        match self.auth(headers) {
            Auth::Ok => None,
            Auth::Missing if self.allow_anonymous => None,
            _ => Some(
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Basic realm=\"N200\"")],
                    axum::Json(serde_json::json!({"result": "ERROR", "error": "access denied"})),
                )
                    .into_response(),
            ),
        }
    }
}

impl AppState {
    /// What every request meets first: the count, the configured latency, the credential
    /// check and the next injected fault. `Err` is the answer to send instead.
    async fn admit(&self, headers: &HeaderMap) -> Result<Option<Fault>, Response> {
        let _ = self.requests.fetch_add(1, Ordering::Relaxed);
        self.wire.delay().await;
        if let Some(refusal) = self.refuse(headers) {
            return Err(refusal);
        }
        self.meet_fault().await
    }
}

fn answer((status, body): (u16, serde_json::Value)) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

async fn post_v1(
    State(state): State<Arc<AppState>>,
    Extension(kill): Extension<ConnectionKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = match state.admit(&headers).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let Some(command) = fields.get("command").cloned() else {
        return answer((
            400,
            serde_json::json!({"result": "ERROR", "error": "missing field command"}),
        ));
    };
    let core = match fields.get("core").map(|c| c.parse::<u8>()) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => {
            return answer((
                400,
                serde_json::json!({"result": "ERROR", "error": "core is not a number"}),
            ));
        }
    };
    let call = Call {
        name: &command,
        fields: &fields,
        core,
        via_get: false,
    };
    carry_out(&state, fault, &kill, &call).await
}

/// A command as a request names it, its fields and core.
struct Call<'r> {
    name: &'r str,
    fields: &'r HashMap<String, String>,
    core: Option<u8>,
    via_get: bool,
}

/// Carries the `call`ed command out on the device with the random numbers `fault` leaves it, and answers
/// (or breaks the connection off, when the fault says so). Commands that take a while (key
/// generation) run off the I/O threads; the others, a signature among them, right here.
async fn carry_out(
    state: &AppState,
    fault: Option<Fault>,
    kill: &ConnectionKill,
    call: &Call<'_>,
) -> Response {
    let rng = AppState::rng_for(fault.as_ref());
    let request = Request {
        command: call.name,
        fields: call.fields,
        core: call.core,
        via_get: call.via_get,
        rng: &rng,
    };
    let device = &state.device;
    let result = if device.is_slow(call.name) {
        tokio::task::block_in_place(|| device.handle(&request))
    } else {
        device.handle(&request)
    };
    broken_if(fault, kill, answer(result)).await
}

/// Ends the connection instead of answering, when the fault says so: the command was carried
/// out, the answer never leaves.
async fn broken_if(fault: Option<Fault>, kill: &ConnectionKill, response: Response) -> Response {
    if fault != Some(Fault::BreakAfterCommit) {
        return response;
    }
    kill.kill();
    std::future::pending::<Response>().await
}

async fn get_api(
    State(state): State<Arc<AppState>>,
    Extension(kill): Extension<ConnectionKill>,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fault = match state.admit(&headers).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let mut parts = path.trim_end_matches('/').split('/');
    let name = parts.next().unwrap_or_default().to_owned();
    let args: Vec<String> = parts.map(str::to_owned).collect();
    let Some(command) = Command::ALL
        .into_iter()
        .find(|c| state.table.name(*c) == name)
    else {
        return answer((
            404,
            serde_json::json!({"result": "ERROR", "error": "unknown command"}),
        ));
    };
    let spec = state.table.spec(command);
    let Some(arg_fields) = spec.get_args() else {
        return answer((
            404,
            serde_json::json!({"command": name, "result": "ERROR", "error": "no GET form"}),
        ));
    };
    if args.len() != arg_fields.len() {
        return answer((
            400,
            serde_json::json!({"command": name, "result": "ERROR", "error": "wrong number of arguments"}),
        ));
    }
    let mut fields = HashMap::new();
    for (field, value) in arg_fields.iter().zip(args) {
        let _ = fields.insert(state.table.field(command, *field).to_owned(), value);
    }
    let call = Call {
        name: &name,
        fields: &fields,
        core: query.get("core").and_then(|c| c.parse().ok()),
        via_get: true,
    };
    carry_out(&state, fault, &kill, &call).await
}

/// Serves until the listener is dropped with the runtime. A handler meeting
/// `BreakAfterCommit` ends its connection through the connection's [`ConnectionKill`].
pub(crate) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<AppState>) {
    let app = Router::new()
        .route("/n200/web/postv1", post(post_v1))
        .route("/n200/{*path}", get(get_api))
        .with_state(Arc::clone(&state));
    let accept = || {
        let _ = state.connections.fetch_add(1, Ordering::Relaxed);
        acceptor.clone()
    };
    let router = |kill: &ConnectionKill| app.clone().layer(Extension(kill.clone()));
    hsm_simkit::https::serve(listener, accept, router, std::future::pending).await;
}
