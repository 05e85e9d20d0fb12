//! One call to the N200: building the POST form or GET path from the command table, sending it
//! on the shared keep-alive client within the call's time budget, repeating idempotent commands
//! after harmless failures (the policy is the crate README's fault table), reading at most
//! [`MAX_RESPONSE_BYTES`], and turning the answer into a JSON object or an [`hsm_core::Error`].
//!
//! Logging: a `debug` span per command with the command and core only; the form and the GET path
//! at `trace` with every secret field masked; never the URL (the GET API carries the PIN in its
//! path), never the `Authorization` header.

use std::time::Duration;

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;
use zeroize::Zeroizing;

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

/// The connection to one N200: the keep-alive HTTP client, the credentials and the policy.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    /// `https://host:port/n200/`.
    pub(crate) base: Url,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) table: CommandTable,
    pub(crate) retries: u32,
    /// The budget of one call, retries included.
    pub(crate) timeout: Duration,
    pub(crate) max_in_flight: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .field("retries", &self.retries)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed.
enum Fault {
    /// The request never left (no connection): safe to send again, whatever the command.
    NotSent(Error),
    /// Sent, but no complete answer came (reset, truncated body, timeout): the outcome is
    /// unknown.
    Unknown(Error),
    /// Not worth another attempt (the certificate was refused, the answer is too big).
    Final(Error),
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
    fn operation(command: Command) -> String {
        command.operation()
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
        let spec = self.table.spec(command);
        let mut shown = vec![format!("command={}", spec.name())];
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
            Zeroizing::new(form.finish())
        };
        let core = fields.get(Field::Core).unwrap_or("-").to_owned();
        let url = self.base.join("web/postv1").map_err(|e| {
            Failure::known(
                Error::new(ErrorKind::InvalidInput, Self::operation(command)).with_source(e),
            )
        })?;
        let span = tracing::debug_span!("n200.post", command = %command, core = %core);
        async {
            tracing::trace!(form = %shown.join("&"), "request");
            self.exchange(command, fields, || {
                self.http
                    .post(url.clone())
                    .basic_auth(&self.user, Some(self.password.expose_secret()))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.as_str().to_owned())
            })
            .await
        }
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
        let spec = self.table.spec(command);
        let Some(args) = spec.get_args() else {
            return Err(Error::unsupported(
                Self::operation(command),
                "this command has no GET form in the command table",
            ));
        };
        let mut url = self.base.clone();
        let mut shown = vec![spec.name().to_owned()];
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                Error::new(ErrorKind::InvalidInput, Self::operation(command))
                    .with_message("the base URL cannot take a path")
            })?;
            let _ = segments.pop_if_empty().push(spec.name());
            for field in args {
                let value = fields.get(*field).ok_or_else(|| {
                    Error::invalid_input(Self::operation(command), format!("missing {field:?}"))
                })?;
                let _ = segments.push(value);
                shown.push(if field.is_secret() {
                    "***".to_owned()
                } else {
                    value.to_owned()
                });
            }
            let _ = segments.push("");
        }
        if let Some(core) = core {
            let _ = url.query_pairs_mut().append_pair("core", &core.to_string());
        }
        let url = Zeroizing::new(String::from(url));
        let span = tracing::debug_span!("n200.get", command = %command);
        async {
            tracing::trace!(path = %format!("/n200/{}/", shown.join("/")), "request");
            self.exchange(command, fields, || {
                self.http
                    .get(url.as_str())
                    .basic_auth(&self.user, Some(self.password.expose_secret()))
            })
            .await
            .map_err(Error::from)
        }
        .instrument(span)
        .await
    }

    /// The retry loop: the request `build` makes, within the call's budget, repeated as the
    /// fault table says.
    async fn exchange(
        &self,
        command: Command,
        fields: &Fields,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> std::result::Result<Object, Failure> {
        let op = Self::operation(command);
        let idempotent = command.is_idempotent();
        let deadline = Instant::now() + self.timeout;
        let mut secrets = fields.secrets();
        secrets.push(self.password.expose_secret());
        let mut delay = FIRST_RETRY_DELAY;
        let mut repeats = 0u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = if remaining.is_zero() {
                Err(Fault::Unknown(out_of_time(&op, self.timeout)))
            } else {
                self.attempt(&op, build().timeout(remaining)).await
            };
            // Whether another attempt is allowed (idempotent, or the request never left) and
            // the error to return otherwise.
            let (may_repeat, failure) = match outcome {
                Ok(answer) => {
                    tracing::trace!(
                        status = answer.status,
                        body = %mask(&String::from_utf8_lossy(&answer.body), &secrets),
                        "answer"
                    );
                    let error = match answer.interpret(&op, &secrets) {
                        Ok(object) => return Ok(object),
                        Err(e) => e,
                    };
                    match answer.status {
                        // Busy or failed inside: nothing to show for it. Reads and signatures
                        // go again; a creation or deletion may have happened: settle it.
                        429 | 500..=599 if idempotent => (true, Failure::known(error)),
                        429 | 500..=599 => (
                            false,
                            Failure {
                                error,
                                outcome_unknown: true,
                            },
                        ),
                        // A 2xx that cannot be read: a creation or deletion may have happened.
                        200..=299 if !idempotent && error.kind() == ErrorKind::Protocol => (
                            false,
                            Failure {
                                error,
                                outcome_unknown: true,
                            },
                        ),
                        // 401 (never a password retry), other 4xx, and 2xx answers that are
                        // no JSON or say the device failed: final.
                        _ => return Err(Failure::known(error)),
                    }
                }
                Err(Fault::NotSent(error)) => (true, Failure::known(error)),
                Err(Fault::Unknown(error)) if idempotent => (true, Failure::known(error)),
                Err(Fault::Unknown(error)) => (
                    false,
                    Failure {
                        error,
                        outcome_unknown: true,
                    },
                ),
                // An oversized answer to a creation or deletion: it may have happened.
                Err(Fault::Final(error)) if !idempotent && error.kind() == ErrorKind::Protocol => {
                    return Err(Failure {
                        error,
                        outcome_unknown: true,
                    });
                }
                Err(Fault::Final(error)) => return Err(Failure::known(error)),
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !may_repeat || repeats >= self.retries || remaining <= delay {
                return Err(failure);
            }
            repeats += 1;
            tracing::debug!(attempt = repeats + 1, error = %failure.error, "repeating");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }

    /// One request: sends it and reads the whole answer, at most [`MAX_RESPONSE_BYTES`].
    async fn attempt(
        &self,
        op: &str,
        request: reqwest::RequestBuilder,
    ) -> std::result::Result<Answer, Fault> {
        let mut response = request.send().await.map_err(|e| send_fault(op, e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(announced) = response.content_length()
            && announced > MAX_RESPONSE_BYTES as u64
        {
            return Err(Fault::Final(too_big(op, status, Some(announced))));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
                        return Err(Fault::Final(too_big(op, status, None)));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let kind = if e.is_timeout() {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Unavailable
                    };
                    return Err(Fault::Unknown(
                        Error::new(kind, op.to_owned())
                            .with_status(DeviceStatus::Http(status))
                            .with_message(format!(
                                "the answer broke off after {} bytes",
                                body.len()
                            ))
                            .with_source(e.without_url()),
                    ));
                }
            }
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

fn out_of_time(op: &str, budget: Duration) -> Error {
    Error::new(ErrorKind::Timeout, op.to_owned()).with_message(format!(
        "no complete answer from the N200 within {} ms",
        budget.as_millis()
    ))
}

fn too_big(op: &str, status: u16, announced: Option<u64>) -> Error {
    let what = match announced {
        Some(n) => format!("announces {n} bytes"),
        None => "is longer".to_owned(),
    };
    Error::protocol(
        op.to_owned(),
        format!("the answer {what} than the limit of {MAX_RESPONSE_BYTES} bytes; not read"),
    )
    .with_status(DeviceStatus::Http(status))
}

/// Whether the TLS layer refused the server (certificate, name, pin): a repeat cannot help.
fn is_tls_refusal(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    // The chain is short (reqwest, hyper, io, rustls); the bound only guards against cycles.
    for _ in 0..16 {
        let Some(err) = next else {
            return false;
        };
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // io::Error hides its payload from `source()`: step inside instead.
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

/// Classifies a failure to get an answer's head.
fn send_fault(op: &str, e: reqwest::Error) -> Fault {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    let refused = is_tls_refusal(&e);
    let not_sent = e.is_connect();
    // The URL may carry a PIN (GET API): drop it from the cause.
    let error = Error::new(kind, op.to_owned());
    let error = if refused {
        error.with_message("the TLS connection to the N200 was refused (certificate, name or pin)")
    } else if not_sent {
        error.with_message("cannot connect to the N200")
    } else {
        error.with_message("no answer from the N200")
    }
    .with_source(e.without_url());
    if refused {
        Fault::Final(error)
    } else if not_sent {
        Fault::NotSent(error)
    } else {
        Fault::Unknown(error)
    }
}
