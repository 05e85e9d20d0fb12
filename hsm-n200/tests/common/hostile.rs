//! A hostile N200 for fault tests: `hsm_testkit`'s scripted HTTPS server with the N200's
//! vocabulary on top: steps that answer with N200-style bodies, the command each request
//! carried, and N200 clients that pin the server's certificate.

use std::time::Duration;

use hsm_core::secret::SecretString;
use hsm_n200::{N200Client, N200ClientBuilder};
use hsm_testkit::scripted::{self, Request, ScriptedServer};

/// One scripted answer, in the names the N200 fault tests use (each is one of
/// `hsm_testkit::scripted::Step`).
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// This status with this JSON body.
    Json(u16, String),
    /// 200 with this content type and body.
    Typed(&'static str, &'static str),
    /// Reset the connection (RST) instead of answering.
    Reset,
    /// Announce 100 bytes of JSON, send 10, close.
    Truncated,
    /// Announce 100 bytes, send one every 100 ms.
    SlowBody,
    /// Announce (Content-Length) this many bytes and stream them.
    Announced(usize),
    /// Stream this many bytes without a Content-Length, then close.
    Unannounced(usize),
    /// Read the request, never answer.
    Stall,
}

impl Step {
    /// 200 with this JSON body.
    pub(crate) fn ok(body: impl Into<String>) -> Self {
        Self::Json(200, body.into())
    }

    /// This status with an N200-style error body.
    pub(crate) fn status(status: u16) -> Self {
        Self::Json(
            status,
            format!(r#"{{"result":"ERROR","error":"scripted {status}"}}"#),
        )
    }
}

impl From<Step> for scripted::Step {
    fn from(step: Step) -> Self {
        match step {
            Step::Json(status, body) => Self::Body {
                status,
                content_type: "application/json",
                body,
            },
            Step::Typed(content_type, body) => Self::Typed(content_type, body),
            Step::Reset => Self::Reset,
            Step::Truncated => Self::Truncated,
            Step::SlowBody => Self::Slow(100),
            Step::Announced(n) => Self::Oversized(n),
            Step::Unannounced(n) => Self::OversizedUnannounced(n),
            Step::Stall => Self::Hang,
        }
    }
}

/// The server; stops with its runtime when dropped.
pub(crate) struct Hostile {
    server: ScriptedServer,
}

impl Hostile {
    /// Starts the server on a runtime of its own; a request past the script gets a 599.
    pub(crate) fn start() -> Self {
        let server = ScriptedServer::start_on_own_runtime();
        server.exhausted(Step::status(scripted::EXHAUSTED_STATUS).into());
        Self { server }
    }

    /// Replaces the script and forgets the requests seen so far.
    pub(crate) fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.server.script(steps.into_iter().map(Into::into));
    }

    /// The command of every request since the last `script` (`genecckey`, `timestamp`...).
    pub(crate) fn seen(&self) -> Vec<String> {
        self.server.requests().iter().map(command).collect()
    }

    /// A client of this server (pinned certificate) with `timeout` as the call budget.
    pub(crate) fn client(&self, password: &str, timeout: Duration) -> N200Client {
        self.builder(password).timeout(timeout).build().unwrap()
    }

    /// A client builder of this server (pinned certificate) for `pkmaster`.
    pub(crate) fn builder(&self, password: &str) -> N200ClientBuilder {
        N200Client::builder(
            "127.0.0.1",
            self.server.port,
            "pkmaster",
            SecretString::from(password),
        )
        .tls(self.server.tls())
    }
}

/// A request's command: the GET path's first segment under `/n200/`, or the POST form's
/// `command`.
fn command(request: &Request) -> String {
    if let Some(rest) = request.path.strip_prefix("/n200/")
        && !rest.starts_with("web/")
    {
        return rest.split('/').next().unwrap_or_default().to_owned();
    }
    url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "command")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
