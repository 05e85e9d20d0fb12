//! The commands the N200 answers in both forms, the POST v1 form ([`N200Client`]) and the GET
//! path ([`GetApi`]): the same fields, the same answers, read by the same parsers. Written once
//! here, for each form by [`commands_of_both_forms!`].
//!
//! [`N200Client`]: crate::N200Client
//! [`GetApi`]: crate::GetApi

/// Writes, for the API type `$api`, the typed commands both forms have: `timestamp`,
/// `get_random`, `key_attributes`, `list_keys`, `encrypt`, `decrypt`. `$api` has
/// `fields(&self) -> Fields` (what each request of its form carries: the bound core for POST,
/// nothing for GET) and `async fn send(&self, Command, &Fields) -> Result<Object>`.
macro_rules! commands_of_both_forms {
    ($api:ty) => {
        impl $api {
            /// `timestamp`: the device clock.
            ///
            /// # Errors
            /// Transport and device errors.
            pub async fn timestamp(&self) -> hsm_core::Result<$crate::protocol::model::DeviceTime> {
                let fields = $crate::protocol::form::Fields::new();
                let answer = self
                    .send($crate::protocol::commands::Command::Timestamp, &fields)
                    .await?;
                $crate::protocol::parse::time_of(&answer)
            }

            /// `getrandom`: `n` random bytes from the core.
            ///
            /// # Errors
            /// Transport and device errors;
            /// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if the answer is not `n`
            /// bytes of hex.
            pub async fn get_random(
                &self,
                n: usize,
            ) -> hsm_core::Result<$crate::protocol::model::RandomBytes> {
                use $crate::protocol::commands::{Command, Field};
                let answer = self
                    .send_field(Command::GetRandom, Field::Numbers, n.to_string())
                    .await?;
                $crate::protocol::parse::random_of(&answer, n)
            }

            /// `getkeyattributes` of the key `nice_name`.
            ///
            /// # Errors
            /// [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound) for an unknown key (or an
            /// empty answer); transport and device errors.
            pub async fn key_attributes(
                &self,
                nice_name: &str,
            ) -> hsm_core::Result<$crate::protocol::model::KeyEntry> {
                use $crate::protocol::commands::{Command, Field};
                let answer = self
                    .send_field(Command::GetKeyAttributes, Field::NiceName, nice_name)
                    .await?;
                $crate::protocol::parse::key_attributes_of(&answer, nice_name)
            }

            /// `listkeys` of one key type (`NIST`, `SECP`, `Brainpool`, `RSA`, `SYM`).
            ///
            /// # Errors
            /// Transport, authentication and device errors.
            pub async fn list_keys(
                &self,
                key_type: &str,
            ) -> hsm_core::Result<$crate::protocol::model::KeyList> {
                use $crate::protocol::commands::{Command, Field};
                let answer = self
                    .send_field(Command::ListKeys, Field::KeyType, key_type)
                    .await?;
                $crate::protocol::parse::key_list_of("n200.list_keys", &answer)
            }

            /// `encrypt` with the symmetric key `nice_name` (`mode` e.g. `CBC`): hex
            /// ciphertext. `data` is text, as in the record (`hello-world`).
            ///
            /// # Errors
            /// Transport, authentication and device errors.
            pub async fn encrypt(
                &self,
                nice_name: &str,
                pin: &hsm_core::secret::SecretString,
                mode: &str,
                data: &str,
            ) -> hsm_core::Result<String> {
                let command = $crate::protocol::commands::Command::Encrypt;
                self.cipher(command, nice_name, pin, mode, data).await
            }

            /// `decrypt` with the symmetric key `nice_name`: the plaintext.
            ///
            /// # Errors
            /// Transport, authentication and device errors.
            pub async fn decrypt(
                &self,
                nice_name: &str,
                pin: &hsm_core::secret::SecretString,
                mode: &str,
                hex_data: &str,
            ) -> hsm_core::Result<String> {
                let command = $crate::protocol::commands::Command::Decrypt;
                self.cipher(command, nice_name, pin, mode, hex_data).await
            }

            /// Sends `command` with the one field `field` set to `value`, besides what every
            /// request of this form carries.
            async fn send_field(
                &self,
                command: $crate::protocol::commands::Command,
                field: $crate::protocol::commands::Field,
                value: impl Into<String>,
            ) -> hsm_core::Result<$crate::protocol::model::Object> {
                let fields = self.fields().with(field, value);
                self.send(command, &fields).await
            }

            async fn cipher(
                &self,
                command: $crate::protocol::commands::Command,
                nice_name: &str,
                pin: &hsm_core::secret::SecretString,
                mode: &str,
                data: &str,
            ) -> hsm_core::Result<String> {
                let fields = self.fields().cipher(nice_name, pin, mode, data);
                let answer = self.send(command, &fields).await?;
                $crate::protocol::parse::text_result_of(&command.operation(), &answer)
            }
        }
    };
}
