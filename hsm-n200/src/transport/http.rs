//! One call to the N200: the POST form or GET path built from the command table and sent
//! through `hsm-http` (its retry and time-budget policy is the crate README's fault table), and
//! the answer turned into a JSON object or an [`hsm_core::Error`].
//!
//! What is the N200's own here: the body cap ([`MAX_RESPONSE_BYTES`]), a budget an attempt may
//! spend whole (one appliance: a slow signature is waited for, not cut short and sent again),
//! a `503` that does not prove a creation was not carried out, and the short pauses (50 ms,
//! doubling) before a repeat.
//!
//! Logging: a `debug` span per command (`n200.post` with the command and core, `n200.get` with
//! the command) around `hsm-http`'s span per call (operation and method only); the form and the GET path
//! at `trace` with every secret field masked; never the URL (the GET API carries the PIN in its
//! path), never the `Authorization` header.

use std::time::Duration;

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::tls::TlsOptions;
use hsm_core::{Error, ErrorKind, Result};
use hsm_http::{BasicAuth, BudgetSplit, HttpClient, Method, Request, RetryPolicy};
use tracing::Instrument as _;
use url::Url;

use crate::protocol::answer::Answer;
use crate::protocol::commands::{Command, CommandTable, Field};
use crate::protocol::form::Fields;
use crate::protocol::model::Object;
use crate::protocol::raw::mask;

/// The largest answer read (4 MiB; a `listkeys` entry is about 600 bytes). An answer that
/// announces more is refused unread; one that sends more is cut off there. Either way the call
/// fails with [`ErrorKind::Protocol`] and is not repeated.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// The first pause before a repeat; it doubles with each repeat.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);

/// What a [`Transport`] is made from (the client builder's settings), kept with it so that a
/// transport with connections of its own can be made again ([`Transport::with_own_connections`]).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) tls: TlsOptions,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) table: CommandTable,
    pub(crate) max_in_flight: usize,
}

/// The connection to one N200: the `hsm-http` client and the settings it was made from (the
/// credentials, the command table, the call's budget, the signatures kept in flight).
pub(crate) struct Transport {
    http: HttpClient,
    /// `https://host:port/n200/`.
    pub(crate) base: Url,
    pub(crate) settings: Settings,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .field("user", &self.settings.user)
            .field("password", &"[REDACTED]")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// The failure of a whole call. `outcome_unknown` is set when a command that is never
/// repeated (key creation, import, deletion) may or may not have been carried out: the caller
/// settles it by asking the device.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) outcome_unknown: bool,
}

impl Failure {
    fn known(error: Error) -> Self {
        Self {
            error,
            outcome_unknown: false,
        }
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        f.error
    }
}

impl Transport {
    /// The transport to one N200. No connection is opened yet.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad host, CA file or server name;
    /// [`ErrorKind::Unavailable`] if the host name does not resolve (with a server-name
    /// override).
    pub(crate) fn connect(settings: Settings) -> Result<Self> {
        let policy = RetryPolicy::default()
            .with_attempts(settings.retries.saturating_add(1))
            .with_retry_delay(FIRST_RETRY_DELAY)
            .with_throttle(settings.retries, FIRST_RETRY_DELAY)
            .with_unavailable_means_not_done(false)
            .with_split(BudgetSplit::Whole);
        let http = HttpClient::builder("N200", settings.host.clone(), settings.port, "/n200/")
            .tls(settings.tls.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .policy(policy)
            .max_body(MAX_RESPONSE_BYTES)
            .max_idle(settings.max_in_flight)
            .build()
            .map_err(|e| e.with_operation("n200.connect"))?;
        let base = http
            .base_urls()
            .next()
            .cloned()
            .ok_or_else(|| Error::invalid_input("n200.connect", "no endpoint"))?;
        Ok(Self {
            http,
            base,
            settings,
        })
    }

    /// A transport with the same settings (device, credentials, TLS trust, budgets, retries,
    /// command table) but a connection pool of its own: for a thread lane, whose connections
    /// must belong to the lane's runtime. No connection is opened yet.
    ///
    /// # Errors
    /// As [`Self::connect`] (the CA file is read again).
    pub(crate) fn with_own_connections(&self) -> Result<Self> {
        Self::connect(self.settings.clone())
    }

    fn auth(&self) -> BasicAuth {
        BasicAuth::new(self.settings.user.clone(), self.settings.password.clone())
    }

    /// Sends `command` as a POST v1 form and returns the JSON answer.
    pub(crate) async fn post(&self, command: Command, fields: &Fields) -> Result<Object> {
        self.post_call(command, fields).await.map_err(Error::from)
    }

    /// [`Self::post`], saying whether a failed creation or deletion may have been carried out.
    pub(crate) async fn post_call(
        &self,
        command: Command,
        fields: &Fields,
    ) -> std::result::Result<Object, Failure> {
        let spec = self.settings.table.spec(command);
        let mut shown = vec![format!("command={}", spec.name())];
        // The serializer is not `Send`: it lives only in this block.
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            let _ = form.append_pair("command", spec.name());
            for (field, wire) in spec.fields() {
                if let Some(value) = fields.get(*field) {
                    let _ = form.append_pair(wire, value);
                    shown.push(if field.is_secret() {
                        format!("{wire}=***")
                    } else {
                        format!("{wire}={value}")
                    });
                }
            }
            form.finish().into_bytes()
        };
        let core = fields.get(Field::Core).unwrap_or("-");
        let span = tracing::debug_span!("n200.post", command = %command, core = %core);
        span.in_scope(|| tracing::trace!(form = %shown.join("&"), "request"));
        // The request zeroizes the form's bytes when it is dropped.
        let request = Request::new(command.operation(), Method::POST, ["web", "postv1"])
            .body("application/x-www-form-urlencoded", body)
            .basic_auth(Some(self.auth()))
            .idempotent(command.is_idempotent());
        self.exchange(command, fields, &request)
            .instrument(span)
            .await
    }

    /// Sends `command` in its GET form `/n200/<name>/<args>/` (with `?core=N` when `core` is
    /// given) and returns the JSON answer.
    pub(crate) async fn get(
        &self,
        command: Command,
        fields: &Fields,
        core: Option<u8>,
    ) -> Result<Object> {
        let spec = self.settings.table.spec(command);
        let Some(args) = spec.get_args() else {
            return Err(Error::unsupported(
                command.operation(),
                "this command has no GET form in the command table",
            ));
        };
        let mut segments = vec![spec.name().to_owned()];
        let mut shown = vec![spec.name().to_owned()];
        for field in args {
            let value = fields.get(*field).ok_or_else(|| {
                Error::invalid_input(command.operation(), format!("missing {field:?}"))
            })?;
            segments.push(value.to_owned());
            shown.push(if field.is_secret() {
                "***".to_owned()
            } else {
                value.to_owned()
            });
        }
        segments.push(String::new());
        let mut request = Request::new(command.operation(), Method::GET, segments)
            .basic_auth(Some(self.auth()))
            .idempotent(command.is_idempotent());
        if let Some(core) = core {
            request = request.query([("core", core.to_string())]);
        }
        let span = tracing::debug_span!("n200.get", command = %command);
        span.in_scope(|| tracing::trace!(path = %format!("/n200/{}/", shown.join("/")), "request"));
        self.exchange(command, fields, &request)
            .instrument(span)
            .await
            .map_err(Error::from)
    }

    /// Sends `request` through `hsm-http` and reads the answer as the N200's: a JSON object,
    /// or an error whose kind comes from the answer ([`Answer::interpret`]).
    async fn exchange(
        &self,
        command: Command,
        fields: &Fields,
        request: &Request,
    ) -> std::result::Result<Object, Failure> {
        let op = command.operation();
        let idempotent = command.is_idempotent();
        let mut secrets = fields.secrets();
        secrets.push(self.settings.password.expose_secret());
        match self.http.call(request).await {
            Ok(answer) => {
                let answer = Answer {
                    status: answer.status(),
                    content_type: answer.content_type().map(str::to_owned),
                    body: answer.into_body(),
                };
                tracing::trace!(
                    status = answer.status,
                    body = %mask(&String::from_utf8_lossy(&answer.body), &secrets),
                    "answer"
                );
                match answer.interpret(&op, &secrets) {
                    Ok(object) => Ok(object),
                    // A 2xx that cannot be read: a creation or deletion may have happened.
                    Err(error) if !idempotent && error.kind() == ErrorKind::Protocol => {
                        Err(Failure {
                            error,
                            outcome_unknown: true,
                        })
                    }
                    // A 2xx whose JSON says the device failed: final.
                    Err(error) => Err(Failure::known(error)),
                }
            }
            Err(failure) => {
                let outcome_unknown = failure.outcome_unknown;
                // An error status: its kind and text are the N200's table's (the device's
                // text, masked and bounded, and the raw answer as the source).
                let error = match failure.answer {
                    Some(answer) => {
                        let answer = Answer {
                            status: answer.status(),
                            content_type: answer.content_type().map(str::to_owned),
                            body: answer.into_body(),
                        };
                        answer
                            .interpret(&op, &secrets)
                            .err()
                            .unwrap_or(failure.error)
                    }
                    None => failure.error,
                };
                Err(Failure {
                    error,
                    outcome_unknown,
                })
            }
        }
    }
}
