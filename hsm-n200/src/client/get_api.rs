//! The GET API: `/n200/<command>/<arg>/.../` with a JSON answer, as seed 000 shows it.
//!
//! The GET API carries every argument in the URL path, the key PIN of `encrypt`/`decrypt`
//! included; this crate never logs URLs (the path is logged at `trace` with the PIN masked).
//! The record shows no core selector for GET requests: [`GetApi::on_core`] adds `?core=N`
//! (**unconfirmed**); without it the device picks (the record's answers name core 1, and core
//! 0 for `listkeys`).

use hsm_core::Result;
use hsm_core::secret::SecretString;

use crate::client::N200Client;
use crate::protocol::commands::{Command, Field};
use crate::protocol::form::Fields;
use crate::protocol::model::{self, DeviceTime, KeyEntry, KeyList, RandomBytes};
use crate::protocol::parse;

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

    async fn get(&self, command: Command, fields: &Fields) -> Result<model::Object> {
        self.client.transport.get(command, fields, self.core).await
    }

    /// `GET /n200/timestamp/`.
    ///
    /// # Errors
    /// Transport and device errors.
    pub async fn timestamp(&self) -> Result<DeviceTime> {
        parse::time_of(&self.get(Command::Timestamp, &Fields::new()).await?)
    }

    /// `GET /n200/getrandom/<n>/`.
    ///
    /// # Errors
    /// Transport and device errors.
    pub async fn get_random(&self, n: usize) -> Result<RandomBytes> {
        let answer = self
            .get(
                Command::GetRandom,
                &Fields::new().with(Field::Numbers, n.to_string()),
            )
            .await?;
        parse::random_of(&answer, n)
    }

    /// `GET /n200/getkeyattributes/<nice_name>/`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound) for an unknown key.
    pub async fn key_attributes(&self, nice_name: &str) -> Result<KeyEntry> {
        let answer = self
            .get(
                Command::GetKeyAttributes,
                &Fields::new().with(Field::NiceName, nice_name),
            )
            .await?;
        parse::key_attributes_of(&answer, nice_name)
    }

    /// `GET /n200/listkeys/<key_type>/`.
    ///
    /// # Errors
    /// Transport and device errors.
    pub async fn list_keys(&self, key_type: &str) -> Result<KeyList> {
        let answer = self
            .get(
                Command::ListKeys,
                &Fields::new().with(Field::KeyType, key_type),
            )
            .await?;
        parse::key_list_of("n200.list_keys", &answer)
    }

    /// `GET /n200/encrypt/<nice_name>/<pin>/<mode>/<data>/`: hex ciphertext.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn encrypt(
        &self,
        nice_name: &str,
        pin: &SecretString,
        mode: &str,
        data: &str,
    ) -> Result<String> {
        self.cipher(Command::Encrypt, nice_name, pin, mode, data)
            .await
    }

    /// `GET /n200/decrypt/<nice_name>/<pin>/<mode>/<hex>/`: the plaintext.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn decrypt(
        &self,
        nice_name: &str,
        pin: &SecretString,
        mode: &str,
        hex_data: &str,
    ) -> Result<String> {
        self.cipher(Command::Decrypt, nice_name, pin, mode, hex_data)
            .await
    }

    async fn cipher(
        &self,
        command: Command,
        nice_name: &str,
        pin: &SecretString,
        mode: &str,
        data: &str,
    ) -> Result<String> {
        let fields = Fields::new().cipher(nice_name, pin, mode, data);
        let answer = self.get(command, &fields).await?;
        parse::text_result_of(&command.operation(), &answer)
    }
}
