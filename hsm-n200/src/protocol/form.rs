//! The fields of one request (POST form or GET path), by command-table field. Secret values
//! are zeroized when dropped.

use hsm_core::secret::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::protocol::commands::Field;

/// Values of one request, by field.
pub(crate) struct Fields(Vec<(Field, Zeroizing<String>)>);

impl Fields {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds a value. An empty PIN is left out (the device may store the key PIN itself).
    pub(crate) fn with(mut self, field: Field, value: impl Into<String>) -> Self {
        let value = Zeroizing::new(value.into());
        if !(field == Field::Pin && value.is_empty()) {
            self.0.push((field, value));
        }
        self
    }

    /// The value of `field`, if set.
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    /// The secret values (at least 4 bytes long), to mask wherever the answer is kept.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, v)| f.is_secret() && v.len() >= 4)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The fields of a new key: access rule, key PIN and name.
    pub(crate) fn new_key(self, acl: &str, pin: &SecretString, nice_name: &str) -> Self {
        self.with(Field::Acl, acl)
            .with(Field::Pin, pin.expose_secret())
            .with(Field::NiceName, nice_name)
    }

    /// The fields of `encrypt`/`decrypt`: key name, key PIN, mode and data.
    pub(crate) fn cipher(
        self,
        nice_name: &str,
        pin: &SecretString,
        mode: &str,
        data: &str,
    ) -> Self {
        self.with(Field::NiceName, nice_name)
            .with(Field::Pin, pin.expose_secret())
            .with(Field::Mode, mode)
            .with(Field::Data, data)
    }
}
