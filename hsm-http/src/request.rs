//! One request as a backend describes it: operation, method, path, query, body, credentials,
//! idempotency.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use zeroize::Zeroizing;

/// HTTP Basic credentials. `Debug` shows the user only.
#[derive(Clone)]
pub struct BasicAuth {
    pub(crate) user: String,
    pub(crate) password: SecretString,
}

impl BasicAuth {
    /// `user` with `password`.
    #[must_use]
    pub fn new(user: impl Into<String>, password: SecretString) -> Self {
        Self {
            user: user.into(),
            password,
        }
    }

    /// The user name.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// One request. `Debug` shows the operation, the method, the number of path segments and
/// whether there is a body and credentials: never a path (it may carry a PIN), a query value,
/// a body or a password.
#[derive(Clone)]
pub struct Request {
    pub(crate) operation: Cow<'static, str>,
    pub(crate) method: Method,
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<(Cow<'static, str>, Zeroizing<Vec<u8>>)>,
    pub(crate) auth: Option<BasicAuth>,
    pub(crate) idempotent: bool,
    pub(crate) budget: Option<Duration>,
}

impl Request {
    /// A request for `operation` (the name errors and logs use, e.g. `nethsm.sign`): `method`
    /// to the path `segments` under the client's base URL, each segment percent-encoded. GET,
    /// HEAD, PUT, DELETE and OPTIONS are idempotent by default, POST and PATCH not
    /// ([`Self::idempotent`] says otherwise).
    #[must_use]
    pub fn new<S: Into<String>>(
        operation: impl Into<Cow<'static, str>>,
        method: Method,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        let idempotent = method.is_idempotent();
        Self {
            operation: operation.into(),
            method,
            segments: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            body: None,
            auth: None,
            idempotent,
            budget: None,
        }
    }

    /// With a body of `content_type`; the bytes are zeroized when the request is dropped.
    #[must_use]
    pub fn body(mut self, content_type: impl Into<Cow<'static, str>>, body: Vec<u8>) -> Self {
        self.body = Some((content_type.into(), Zeroizing::new(body)));
        self
    }

    /// With these query parameters (encoded).
    #[must_use]
    pub fn query<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.query
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    setters! {
        /// With HTTP Basic credentials.
        #[must_use]
        basic_auth(auth: Option<BasicAuth>) => auth;
        /// Marks the request as idempotent or not: only an idempotent request is sent again when
        /// its outcome is unknown. A backend marks the POSTs that change nothing (a signature) as
        /// idempotent, and the PUTs and DELETEs that create something or whose repetition answers
        /// differently as not.
        #[must_use]
        idempotent(idempotent: bool) => idempotent;
    }

    /// With this budget for the whole call instead of the client's timeout (a client whose
    /// clones carry their own timeout).
    #[must_use]
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The operation name.
    #[must_use]
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Whether the request may be sent again when its outcome is unknown.
    #[must_use]
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("operation", &self.operation)
            .field("method", &self.method.as_str())
            .field("segments", &self.segments.len())
            .field("query", &self.query.len())
            .field("body", &self.body.as_ref().map(|(t, b)| (t, b.len())))
            .field("auth", &self.auth)
            .field("idempotent", &self.idempotent)
            .field("budget", &self.budget)
            .finish()
    }
}
