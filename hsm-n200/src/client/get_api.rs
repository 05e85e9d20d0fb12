//! The GET API: `/n200/<command>/<arg>/.../` with a JSON answer, as seed 000 shows it; its
//! commands are the POST API's that have a GET form (`timestamp`, `getrandom`,
//! `getkeyattributes`, `listkeys`, `encrypt`, `decrypt`), written once for both forms
//! (`client::both_forms`).
//!
//! The GET API carries every argument in the URL path, the key PIN of `encrypt`/`decrypt`
//! included; this crate never logs URLs (the path is logged at `trace` with the PIN masked).
//! The record shows no core selector for GET requests: [`GetApi::on_core`] adds `?core=N`
//! (**unconfirmed**); without it the device picks (the record's answers name core 1, and core
//! 0 for `listkeys`).

use hsm_core::Result;

use crate::client::N200Client;
use crate::protocol::commands::Command;
use crate::protocol::form::Fields;
use crate::protocol::model;

/// The GET API of a client: `client.get_api().timestamp().await`.
#[derive(Debug, Clone, Copy)]
pub struct GetApi<'a> {
    client: &'a N200Client,
    core: Option<u8>,
}

impl N200Client {
    /// The GET API, sharing this client's connections and credentials.
    #[must_use]
    pub fn get_api(&self) -> GetApi<'_> {
        GetApi {
            client: self,
            core: None,
        }
    }
}

impl GetApi<'_> {
    /// Adds `?core=N` to every request (**unconfirmed** selector).
    #[must_use]
    pub fn on_core(mut self, core: u8) -> Self {
        self.core = Some(core);
        self
    }

    /// What each GET request carries besides its own fields: nothing (the core, if any, goes
    /// in the query).
    fn fields(&self) -> Fields {
        Fields::new()
    }

    async fn send(&self, command: Command, fields: &Fields) -> Result<model::Object> {
        self.client.transport.get(command, fields, self.core).await
    }
}

commands_of_both_forms!(GetApi<'_>);
