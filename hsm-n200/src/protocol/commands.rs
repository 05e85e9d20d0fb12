//! The one table of N200 command names and field names.
//!
//! Everything this crate puts on the wire is named here and nowhere else. Each entry says where
//! its spelling comes from ([`Source`]):
//!
//! - [`Source::Seed`]: shown verbatim in the only public record of the API (the jpmens.net
//!   review of 2022, `genecckey`, `importecckey` and the GET forms);
//! - [`Source::Inferred`]: the command name is in the record, but only in its GET form; the POST
//!   field names are this crate's reading of the GET path;
//! - [`Source::Unconfirmed`]: the device has the operation (sign, verify, RSA and AES key
//!   generation, key deletion), but its command and field names are not public. The names here are the most
//!   likely forms, following the `genecckey`/`importecckey` pattern. **Check them against the
//!   vendor manual** and override what differs.
//!
//! Overrides need no new release: [`CommandTable::apply_json`] (or the URI parameter
//! `commands=FILE`) renames a command or any of its fields:
//!
//! ```
//! use hsm_n200::protocol::commands::{Command, CommandTable, Field};
//! let mut table = CommandTable::default();
//! table.apply_json(r#"{ "sign_ecc": { "command": "ecdsasign", "fields": { "hash": "data" } } }"#)?;
//! assert_eq!(table.name(Command::SignEcc), "ecdsasign");
//! assert_eq!(table.field(Command::SignEcc, Field::Hash), "data");
//! # Ok::<(), hsm_core::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use hsm_core::{Error, Result};
use serde::Deserialize;

/// An operation of the N200 REST API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// Generate an EC key pair (`genecckey`; seed).
    GenEccKey,
    /// Import an EC private scalar (`importecckey`; seed).
    ImportEccKey,
    /// List the keys of a type (`listkeys`; seed, GET form).
    ListKeys,
    /// One key's attributes by nice name (`getkeyattributes`; seed, GET form).
    GetKeyAttributes,
    /// Symmetric encryption (`encrypt`; seed, GET form).
    Encrypt,
    /// Symmetric decryption (`decrypt`; seed, GET form).
    Decrypt,
    /// Random bytes from the device (`getrandom`; seed, GET form).
    GetRandom,
    /// The device clock (`timestamp`; seed, GET form).
    Timestamp,
    /// ECDSA signature over a digest (**unconfirmed**).
    SignEcc,
    /// RSA signature over a digest (**unconfirmed**).
    SignRsa,
    /// ECDSA verification (**unconfirmed**).
    VerifyEcc,
    /// Generate an RSA key pair (**unconfirmed**).
    GenRsaKey,
    /// Delete a key (**unconfirmed**).
    DeleteKey,
    /// Generate a symmetric (AES) key (**unconfirmed**). The record shows such a key (`k01`,
    /// `key_type` `SYM`, 256 bits) and its `encrypt`/`decrypt`, not how it was made.
    GenSymKey,
}

impl Command {
    /// Every command, in table order.
    pub const ALL: [Command; 14] = [
        Self::GenEccKey,
        Self::ImportEccKey,
        Self::ListKeys,
        Self::GetKeyAttributes,
        Self::Encrypt,
        Self::Decrypt,
        Self::GetRandom,
        Self::Timestamp,
        Self::SignEcc,
        Self::SignRsa,
        Self::VerifyEcc,
        Self::GenRsaKey,
        Self::DeleteKey,
        Self::GenSymKey,
    ];

    /// The key of this command in JSON overrides (`sign_ecc`, `gen_rsa_key`...).
    #[must_use]
    pub fn config_name(self) -> &'static str {
        match self {
            Self::GenEccKey => "gen_ecc_key",
            Self::ImportEccKey => "import_ecc_key",
            Self::ListKeys => "list_keys",
            Self::GetKeyAttributes => "get_key_attributes",
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::GetRandom => "get_random",
            Self::Timestamp => "timestamp",
            Self::SignEcc => "sign_ecc",
            Self::SignRsa => "sign_rsa",
            Self::VerifyEcc => "verify_ecc",
            Self::GenRsaKey => "gen_rsa_key",
            Self::DeleteKey => "delete_key",
            Self::GenSymKey => "gen_sym_key",
        }
    }

    /// The operation named in this command's errors: `n200.` and the config name
    /// (`n200.gen_ecc_key`).
    pub(crate) fn operation(self) -> String {
        format!("n200.{}", self.config_name())
    }

    /// Whether the command may be sent twice without harm: reads and signatures (retried on
    /// transport failures), as opposed to key creation, import and deletion (never retried).
    #[must_use]
    pub fn is_idempotent(self) -> bool {
        !matches!(
            self,
            Self::GenEccKey
                | Self::ImportEccKey
                | Self::GenRsaKey
                | Self::GenSymKey
                | Self::DeleteKey
        )
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_name())
    }
}

/// A field of a request, by meaning; the table gives its wire name per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Field {
    /// The crypto core (`core`).
    Core,
    /// The curve family: `NIST`, `SECP`, `Brainpool` (`curve`).
    Curve,
    /// Key size in bits (`keysize`): the curve's, the RSA modulus's, or 128/256 for AES.
    KeySize,
    /// The access-control bitmask, e.g. `FFFF` (`acl`).
    Acl,
    /// The key PIN (`pin`). A secret: masked in every log.
    Pin,
    /// The key's name (`nice_name`).
    NiceName,
    /// The raw private scalar in hex (`key_to_import`). A secret: masked in every log.
    KeyToImport,
    /// The key type of a listing: `NIST`, `SECP`, `Brainpool`, `RSA`, `SYM`.
    KeyType,
    /// The cipher mode, e.g. `CBC`.
    Mode,
    /// Data to encrypt or decrypt. Masked in logs.
    Data,
    /// How many random bytes.
    Numbers,
    /// The digest to sign or verify, hex.
    Hash,
    /// The hash that made the digest: `SHA256`, `SHA384`, `SHA512`, `NONE`.
    HashAlgorithm,
    /// RSA padding: `PKCS1` or `PSS`.
    Padding,
    /// A signature to verify, hex.
    Signature,
}

impl Field {
    /// The built-in wire name of this field (`core`, `nice_name`, `keysize`...), the same in
    /// every command that has it.
    #[must_use]
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Curve => "curve",
            Self::KeySize => "keysize",
            Self::Acl => "acl",
            Self::Pin => "pin",
            Self::NiceName => "nice_name",
            Self::KeyToImport => "key_to_import",
            Self::KeyType => "key_type",
            Self::Mode => "mode",
            Self::Data => "data",
            Self::Numbers => "numbers",
            Self::Hash => "hash",
            Self::HashAlgorithm => "hash_algorithm",
            Self::Padding => "padding",
            Self::Signature => "signature",
        }
    }

    /// Whether values of this field are masked in logs.
    #[must_use]
    pub fn is_secret(self) -> bool {
        matches!(self, Self::Pin | Self::KeyToImport | Self::Data)
    }
}

/// Where a table entry's spelling comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Shown verbatim in the public record (seed 000).
    Seed,
    /// The command is in the public record in its GET form; the POST field names are inferred.
    Inferred,
    /// Not public: the most likely form. Check against the vendor manual.
    Unconfirmed,
    /// Set by the user (override).
    Override,
}

/// The built-in spellings: THE table. Change them here (or override them at run time),
/// nowhere else. Fields are sent in the order listed, each under its wire name
/// ([`Field::wire_name`]).
impl Command {
    /// The built-in wire name and where it comes from.
    fn builtin_name(self) -> (&'static str, Source) {
        match self {
            Self::GenEccKey => ("genecckey", Source::Seed),
            Self::ImportEccKey => ("importecckey", Source::Seed),
            Self::ListKeys => ("listkeys", Source::Inferred),
            Self::GetKeyAttributes => ("getkeyattributes", Source::Inferred),
            Self::Encrypt => ("encrypt", Source::Inferred),
            Self::Decrypt => ("decrypt", Source::Inferred),
            Self::GetRandom => ("getrandom", Source::Inferred),
            Self::Timestamp => ("timestamp", Source::Inferred),
            Self::SignEcc => ("signecc", Source::Unconfirmed),
            Self::SignRsa => ("signrsa", Source::Unconfirmed),
            Self::VerifyEcc => ("verifyecc", Source::Unconfirmed),
            Self::GenRsaKey => ("genrsakey", Source::Unconfirmed),
            Self::DeleteKey => ("deletekey", Source::Unconfirmed),
            Self::GenSymKey => ("gensymkey", Source::Unconfirmed),
        }
    }

    /// The built-in POST fields (besides `command`), in the order they are sent.
    fn builtin_fields(self) -> &'static [Field] {
        use Field as F;
        match self {
            Self::GenEccKey => &[F::Core, F::Curve, F::KeySize, F::Acl, F::Pin, F::NiceName],
            Self::ImportEccKey => &[
                F::Core,
                F::Curve,
                F::Acl,
                F::Pin,
                F::NiceName,
                F::KeyToImport,
            ],
            Self::ListKeys => &[F::Core, F::KeyType],
            Self::GetKeyAttributes => &[F::Core, F::NiceName],
            Self::Encrypt | Self::Decrypt => &[F::Core, F::NiceName, F::Pin, F::Mode, F::Data],
            Self::GetRandom => &[F::Core, F::Numbers],
            Self::Timestamp => &[],
            Self::SignEcc => &[F::Core, F::NiceName, F::Pin, F::HashAlgorithm, F::Hash],
            Self::SignRsa => &[
                F::Core,
                F::NiceName,
                F::Pin,
                F::HashAlgorithm,
                F::Padding,
                F::Hash,
            ],
            Self::VerifyEcc => &[
                F::Core,
                F::NiceName,
                F::HashAlgorithm,
                F::Hash,
                F::Signature,
            ],
            Self::GenRsaKey | Self::GenSymKey => {
                &[F::Core, F::KeySize, F::Acl, F::Pin, F::NiceName]
            }
            Self::DeleteKey => &[F::Core, F::NiceName, F::Pin],
        }
    }

    /// The arguments of the GET form `/n200/<name>/<arg>/.../`, in path order; `None` when the
    /// command has no GET form here.
    fn builtin_get_args(self) -> Option<&'static [Field]> {
        use Field as F;
        match self {
            Self::ListKeys => Some(&[F::KeyType]),
            Self::GetKeyAttributes => Some(&[F::NiceName]),
            Self::Encrypt | Self::Decrypt => Some(&[F::NiceName, F::Pin, F::Mode, F::Data]),
            Self::GetRandom => Some(&[F::Numbers]),
            Self::Timestamp => Some(&[]),
            Self::GenEccKey
            | Self::ImportEccKey
            | Self::SignEcc
            | Self::SignRsa
            | Self::VerifyEcc
            | Self::GenRsaKey
            | Self::DeleteKey
            | Self::GenSymKey => None,
        }
    }

    /// The built-in spelling of this command.
    fn builtin(self) -> CommandSpec {
        let (name, source) = self.builtin_name();
        CommandSpec {
            name: name.to_owned(),
            source,
            fields: self
                .builtin_fields()
                .iter()
                .map(|f| (*f, f.wire_name().to_owned()))
                .collect(),
            get_args: self.builtin_get_args().map(<[Field]>::to_vec),
        }
    }
}

/// One command's spelling: its name, its fields and where they come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    name: String,
    source: Source,
    fields: Vec<(Field, String)>,
    get_args: Option<Vec<Field>>,
}

impl CommandSpec {
    /// The wire name (`genecckey`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the spelling comes from.
    #[must_use]
    pub fn source(&self) -> Source {
        self.source
    }

    /// The POST fields, in order, with their wire names.
    #[must_use]
    pub fn fields(&self) -> &[(Field, String)] {
        &self.fields
    }

    /// The GET path arguments, when the command has a GET form.
    #[must_use]
    pub fn get_args(&self) -> Option<&[Field]> {
        self.get_args.as_deref()
    }

    /// The wire name of `field`, if the command has it.
    #[must_use]
    pub fn field(&self, field: Field) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, n)| n.as_str())
    }
}

/// The command table in use: the built-in spellings plus the user's overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandTable {
    specs: BTreeMap<Command, CommandSpec>,
}

impl Default for CommandTable {
    fn default() -> Self {
        let specs = Command::ALL.iter().map(|c| (*c, c.builtin())).collect();
        Self { specs }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideEntry {
    command: Option<String>,
    #[serde(default)]
    fields: BTreeMap<Field, String>,
}

impl CommandTable {
    /// The spelling of `command`.
    #[must_use]
    pub fn spec(&self, command: Command) -> &CommandSpec {
        // Every command is in the default table (checked by a test); overrides never remove
        // one. Fall back to a fixed empty spec anyway.
        static EMPTY: std::sync::OnceLock<CommandSpec> = std::sync::OnceLock::new();
        self.specs.get(&command).unwrap_or_else(|| {
            EMPTY.get_or_init(|| CommandSpec {
                name: String::new(),
                source: Source::Unconfirmed,
                fields: Vec::new(),
                get_args: None,
            })
        })
    }

    /// The wire name of `command`.
    #[must_use]
    pub fn name(&self, command: Command) -> &str {
        self.spec(command).name()
    }

    /// The wire name of `field` in `command` (the field's own name if the command does not list
    /// it).
    #[must_use]
    pub fn field(&self, command: Command, field: Field) -> &str {
        self.spec(command).field(field).unwrap_or("")
    }

    /// The commands whose spelling is not public, with their current names.
    pub fn unconfirmed(&self) -> impl Iterator<Item = (Command, &CommandSpec)> {
        self.specs
            .iter()
            .filter(|(_, s)| s.source == Source::Unconfirmed)
            .map(|(c, s)| (*c, s))
    }

    /// Renames a command.
    pub fn set_name(&mut self, command: Command, name: impl Into<String>) {
        if let Some(spec) = self.specs.get_mut(&command) {
            spec.name = name.into();
            spec.source = Source::Override;
        }
    }

    /// Renames a field of a command, adding it if the command did not have it.
    pub fn set_field(&mut self, command: Command, field: Field, name: impl Into<String>) {
        if let Some(spec) = self.specs.get_mut(&command) {
            let name = name.into();
            match spec.fields.iter_mut().find(|(f, _)| *f == field) {
                Some(entry) => entry.1 = name,
                None => spec.fields.push((field, name)),
            }
            spec.source = Source::Override;
        }
    }

    /// Applies overrides from JSON: an object keyed by [`Command::config_name`], each value
    /// `{"command": "new-name", "fields": {"<field>": "new-name"}}` (both optional; field keys
    /// are the snake_case [`Field`] names: `core`, `nice_name`, `pin`, `hash`, ...).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for malformed JSON, an
    /// unknown command or field, or an empty name.
    pub fn apply_json(&mut self, json: &str) -> Result<()> {
        let overrides: BTreeMap<Command, OverrideEntry> = serde_json::from_str(json)
            .map_err(|e| Error::invalid_input("n200.command_table", format!("overrides: {e}")))?;
        // All or nothing: a bad name anywhere leaves the table as it was.
        let mut next = self.clone();
        for (command, entry) in overrides {
            if let Some(name) = entry.command {
                check_name(&name)?;
                next.set_name(command, name);
            }
            for (field, name) in entry.fields {
                check_name(&name)?;
                next.set_field(command, field, name);
            }
        }
        *self = next;
        Ok(())
    }

    /// Applies overrides from a JSON file (see [`apply_json`](Self::apply_json)).
    ///
    /// # Errors
    /// As [`apply_json`](Self::apply_json); [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput)
    /// if the file cannot be read.
    pub fn apply_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid_input(
                "n200.command_table",
                format!("cannot read {}", path.display()),
            )
            .with_source(e)
        })?;
        self.apply_json(&text)
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::invalid_input(
            "n200.command_table",
            format!("{name:?} is not a usable wire name"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_the_table_once_with_its_fields() {
        let t = CommandTable::default();
        assert_eq!(t.specs.len(), Command::ALL.len());
        let mut names: Vec<&str> = Command::ALL.iter().map(|c| t.name(*c)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Command::ALL.len(), "wire names are distinct");
        // Spot checks of the fields and their order (the record's genecckey and importecckey).
        let wire = |c: Command| -> Vec<&str> {
            t.spec(c).fields().iter().map(|(_, n)| n.as_str()).collect()
        };
        assert_eq!(
            wire(Command::GenEccKey),
            ["core", "curve", "keysize", "acl", "pin", "nice_name"]
        );
        assert_eq!(
            wire(Command::ImportEccKey),
            ["core", "curve", "acl", "pin", "nice_name", "key_to_import"]
        );
        assert_eq!(
            wire(Command::SignRsa),
            [
                "core",
                "nice_name",
                "pin",
                "hash_algorithm",
                "padding",
                "hash"
            ]
        );
        assert!(wire(Command::Timestamp).is_empty());
        assert_eq!(
            t.spec(Command::Encrypt).get_args(),
            Some(&[Field::NiceName, Field::Pin, Field::Mode, Field::Data][..])
        );
        assert_eq!(t.spec(Command::SignEcc).get_args(), None);
    }

    #[test]
    fn seed_spellings() {
        let t = CommandTable::default();
        assert_eq!(t.name(Command::GenEccKey), "genecckey");
        assert_eq!(t.field(Command::GenEccKey, Field::NiceName), "nice_name");
        assert_eq!(
            t.field(Command::ImportEccKey, Field::KeyToImport),
            "key_to_import"
        );
        let unconfirmed: Vec<Command> = t.unconfirmed().map(|(c, _)| c).collect();
        assert_eq!(
            unconfirmed,
            vec![
                Command::SignEcc,
                Command::SignRsa,
                Command::VerifyEcc,
                Command::GenRsaKey,
                Command::DeleteKey,
                Command::GenSymKey,
            ]
        );
    }

    #[test]
    fn overrides() {
        let mut t = CommandTable::default();
        t.apply_json(r#"{"delete_key": {"command": "removekey", "fields": {"nice_name": "key"}}}"#)
            .expect("applies");
        assert_eq!(t.name(Command::DeleteKey), "removekey");
        assert_eq!(t.field(Command::DeleteKey, Field::NiceName), "key");
        assert_eq!(t.spec(Command::DeleteKey).source(), Source::Override);
        assert!(t.apply_json(r#"{"nosuch": {}}"#).is_err());
        // The guessed AES generation is overridable like the other unconfirmed commands.
        t.apply_json(
            r#"{"gen_sym_key": {"command": "genaeskey", "fields": {"key_size": "bits"}}}"#,
        )
        .expect("applies");
        assert_eq!(t.name(Command::GenSymKey), "genaeskey");
        assert_eq!(t.field(Command::GenSymKey, Field::KeySize), "bits");
        assert_eq!(t.spec(Command::GenSymKey).source(), Source::Override);
        assert!(t.apply_json(r#"{"sign_ecc": {"command": ""}}"#).is_err());
        assert!(
            t.apply_json(r#"{"sign_ecc": {"fields": {"bogus": "x"}}}"#)
                .is_err()
        );
        // All or nothing: the good override before the bad name is not kept either.
        let before = t.clone();
        assert!(
            t.apply_json(
                r#"{"gen_ecc_key": {"command": "erase"}, "sign_ecc": {"command": "a b"}}"#
            )
            .is_err()
        );
        assert_eq!(t, before);
    }
}
