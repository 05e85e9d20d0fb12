//! The typed commands of the POST v1 API (`/n200/web/postv1`, form-encoded, HTTP basic auth,
//! `core` in every request). Names and fields come from [`crate::protocol::commands`]; the commands marked
//! unconfirmed there are marked here too.

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::{Curve, Error, KeySpec, Result, SignAlgorithm, SignRequest, Signature};
use zeroize::Zeroizing;

use crate::client::N200Client;
use crate::protocol::commands::{Command, Field};
use crate::protocol::form::Fields;
use crate::protocol::keytypes::curve_family;
use crate::protocol::model::{GeneratedKey, KeyEntry, Object};
use crate::protocol::{parse, sigformat};

/// The ACL the record uses for every key (`FFFF`: the bit meanings are not public).
pub const DEFAULT_ACL: &str = "FFFF";

/// How a creation ended.
enum Created {
    /// The device's answer.
    Answered(Object),
    /// The answer was lost; the key was found afterwards.
    Found(Box<KeyEntry>),
}

/// The wire name of the hash behind `algorithm` (`SHA256`...; `NONE` for a caller's digest).
fn hash_name(algorithm: SignAlgorithm) -> &'static str {
    match algorithm.hash() {
        Some(hsm_core::HashAlgorithm::Sha256) => "SHA256",
        Some(hsm_core::HashAlgorithm::Sha384) => "SHA384",
        Some(hsm_core::HashAlgorithm::Sha512) => "SHA512",
        _ => "NONE",
    }
}

commands_of_both_forms!(N200Client);

impl N200Client {
    /// What each POST request carries besides its own fields: the bound core.
    fn fields(&self) -> Fields {
        Fields::new().with(Field::Core, self.core.to_string())
    }

    async fn send(&self, command: Command, fields: &Fields) -> Result<Object> {
        self.transport.post(command, fields).await
    }

    /// Sends a creation (`genecckey`, `genrsakey`, `gensymkey`, `importecckey`) once. When its outcome is
    /// unknown (the answer broke off, timed out, or was a 5xx/429), asks the device for the key
    /// `nice_name`: if it now exists with the type and size asked for, the creation took place
    /// and its entry is returned; otherwise the original error comes back, saying what the
    /// check found. Never sent twice.
    async fn create(
        &self,
        command: Command,
        fields: &Fields,
        nice_name: &str,
        (key_type, bits): (&str, u32),
    ) -> Result<Created> {
        let failure = match self.transport.post_call(command, fields).await {
            Ok(answer) => return Ok(Created::Answered(answer)),
            Err(failure) if !failure.outcome_unknown => return Err(failure.error),
            Err(failure) => failure,
        };
        tracing::warn!(%command, "outcome unknown: checking whether the key exists");
        match self.key_attributes(nice_name).await {
            Ok(entry)
                if entry
                    .key_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(key_type))
                    && entry.key_len == Some(bits) =>
            {
                tracing::info!(%command, "the key exists: the creation took place");
                Ok(Created::Found(Box::new(entry)))
            }
            Ok(_) => Err(explain(
                failure.error,
                "outcome unknown, and a key of this name but another type exists",
            )),
            Err(e) if e.is_not_found() => Err(explain(
                failure.error,
                "outcome unknown; the key does not exist, so it was not created",
            )),
            Err(_) => Err(explain(
                failure.error,
                "outcome unknown, and whether the key exists could not be checked",
            )),
        }
    }

    /// `genecckey`: generates an EC key on the bound core. Sent once: when the outcome is
    /// unknown (answer lost, 5xx) the device is asked whether the key now exists, and a found
    /// key is returned (its `public_key` is then `None`).
    ///
    /// # Errors
    /// Transport, authentication and device errors; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol)
    /// without a key id in `result`.
    pub async fn gen_ecc_key(
        &self,
        curve: Curve,
        nice_name: &str,
        pin: &SecretString,
        acl: &str,
    ) -> Result<GeneratedKey> {
        let (family, bits) = curve_family(curve);
        let fields = self
            .fields()
            .with(Field::Curve, family)
            .with(Field::KeySize, bits.to_string())
            .new_key(acl, pin, nice_name);
        self.generate(Command::GenEccKey, &fields, nice_name, (family, bits))
            .await
    }

    /// `genrsakey` (**unconfirmed** command and fields): generates an RSA key. Sent once,
    /// settled as [`gen_ecc_key`](Self::gen_ecc_key).
    ///
    /// # Errors
    /// As [`gen_ecc_key`](Self::gen_ecc_key).
    pub async fn gen_rsa_key(
        &self,
        bits: u32,
        nice_name: &str,
        pin: &SecretString,
        acl: &str,
    ) -> Result<GeneratedKey> {
        self.gen_sized_key(Command::GenRsaKey, ("RSA", bits), nice_name, pin, acl)
            .await
    }

    /// `gensymkey` (**unconfirmed** command and fields): generates an AES key of `bits` (128 or
    /// 256; the device lists it as `key_type` `SYM`) for [`encrypt`](Self::encrypt) and
    /// [`decrypt`](Self::decrypt). Sent once, settled as [`gen_ecc_key`](Self::gen_ecc_key).
    ///
    /// # Errors
    /// As [`gen_ecc_key`](Self::gen_ecc_key).
    pub async fn gen_sym_key(
        &self,
        bits: u32,
        nice_name: &str,
        pin: &SecretString,
        acl: &str,
    ) -> Result<GeneratedKey> {
        self.gen_sized_key(Command::GenSymKey, ("SYM", bits), nice_name, pin, acl)
            .await
    }

    /// A generation whose only parameter is the key size (`genrsakey`, `gensymkey`): the key
    /// is then listed as `key_type` with `bits`.
    async fn gen_sized_key(
        &self,
        command: Command,
        (key_type, bits): (&str, u32),
        nice_name: &str,
        pin: &SecretString,
        acl: &str,
    ) -> Result<GeneratedKey> {
        let fields = self
            .fields()
            .with(Field::KeySize, bits.to_string())
            .new_key(acl, pin, nice_name);
        self.generate(command, &fields, nice_name, (key_type, bits))
            .await
    }

    /// Sends a key generation once, settled by a listing as [`gen_ecc_key`](Self::gen_ecc_key)
    /// says: the new key from the answer, or from the listing.
    async fn generate(
        &self,
        command: Command,
        fields: &Fields,
        nice_name: &str,
        listed_as: (&str, u32),
    ) -> Result<GeneratedKey> {
        match self.create(command, fields, nice_name, listed_as).await? {
            Created::Answered(answer) => parse::generated_key_of(&command.operation(), &answer),
            Created::Found(entry) => Ok(GeneratedKey::from_entry(*entry, self.core)),
        }
    }

    /// `importecckey`: imports a raw private scalar (big-endian, the curve's length). Returns
    /// the new key id. Sent once, settled as [`gen_ecc_key`](Self::gen_ecc_key).
    ///
    /// # Errors
    /// As [`gen_ecc_key`](Self::gen_ecc_key).
    pub async fn import_ecc_key(
        &self,
        curve: Curve,
        nice_name: &str,
        pin: &SecretString,
        acl: &str,
        scalar: &[u8],
    ) -> Result<String> {
        let (family, bits) = curve_family(curve);
        let scalar_hex = Zeroizing::new(hex::encode_upper(scalar));
        let fields = self
            .fields()
            .with(Field::Curve, family)
            .new_key(acl, pin, nice_name)
            .with(Field::KeyToImport, scalar_hex.as_str());
        match self
            .create(Command::ImportEccKey, &fields, nice_name, (family, bits))
            .await?
        {
            Created::Answered(answer) => parse::text_result_of("n200.import_ecc_key", &answer),
            Created::Found(entry) => Ok(entry.key_id),
        }
    }

    /// `listkeys` on each of `cores`: every key with the core it lives on.
    ///
    /// # Errors
    /// The first core's failure.
    pub async fn list_keys_on_cores(
        &self,
        cores: &[u8],
        key_type: &str,
    ) -> Result<Vec<(u8, KeyEntry)>> {
        let mut out = Vec::new();
        for core in cores {
            let list = self.with_core(*core).list_keys(key_type).await?;
            out.extend(list.keys.into_iter().map(|k| (*core, k)));
        }
        Ok(out)
    }

    /// `signecc` (**unconfirmed** command and fields): signs `digest` with the EC key
    /// `nice_name`. The answer may be hex or base64, DER or raw `r‖s`.
    ///
    /// # Errors
    /// Transport, authentication and device errors; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol)
    /// if the answer is no signature on `curve`.
    pub async fn sign_ecc(
        &self,
        nice_name: &str,
        pin: &SecretString,
        curve: Curve,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "n200.sign_ecc";
        let answer = self
            .sign_answer(Command::SignEcc, nice_name, pin, algorithm, digest)
            .await?;
        let text = parse::text_result_of(OP, &answer)?;
        sigformat::ecdsa_signature(&text, algorithm, curve, OP)
    }

    /// `signrsa` (**unconfirmed** command and fields): signs `digest` with the RSA key
    /// `nice_name`, PKCS#1 v1.5 or PSS as `algorithm` says.
    ///
    /// # Errors
    /// As [`sign_ecc`](Self::sign_ecc).
    pub async fn sign_rsa(
        &self,
        nice_name: &str,
        pin: &SecretString,
        modulus_len: usize,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "n200.sign_rsa";
        let answer = self
            .sign_answer(Command::SignRsa, nice_name, pin, algorithm, digest)
            .await?;
        let text = parse::text_result_of(OP, &answer)?;
        sigformat::rsa_signature(&text, algorithm, modulus_len, OP)
    }

    /// Signs `request` with the key `nice_name` of `spec` (`signecc` or `signrsa` by the key's
    /// type); the answer is read by [`sigformat::signature`], through
    /// [`SignRequest::signature`].
    pub(crate) async fn sign_request(
        &self,
        nice_name: &str,
        pin: &SecretString,
        spec: KeySpec,
        request: &SignRequest,
    ) -> Result<Signature> {
        let command = match (spec.curve(), spec.rsa_bits()) {
            (Some(_), _) => Command::SignEcc,
            (None, Some(_)) => Command::SignRsa,
            _ => {
                return Err(Error::unsupported(
                    request.operation(),
                    format!("a {spec} key cannot sign"),
                ));
            }
        };
        let digest = request.digest_bytes().ok_or_else(|| {
            Error::unsupported(
                request.operation(),
                format!("the N200 has no {}", request.algorithm()),
            )
        })?;
        let answer = self
            .sign_answer(command, nice_name, pin, request.algorithm(), digest)
            .await?;
        let text = parse::text_result_of(&command.operation(), &answer)?;
        sigformat::signature(request, spec, &text)
    }

    /// Sends `signecc` or `signrsa` (the padding field for RSA: PKCS#1 v1.5 or PSS as
    /// `algorithm` says) and returns the answer.
    async fn sign_answer(
        &self,
        command: Command,
        nice_name: &str,
        pin: &SecretString,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Object> {
        let mut fields = self
            .fields()
            .with(Field::NiceName, nice_name)
            .with(Field::Pin, pin.expose_secret())
            .with(Field::HashAlgorithm, hash_name(algorithm));
        if command == Command::SignRsa {
            let padding = if algorithm.is_rsa_pss() {
                "PSS"
            } else {
                "PKCS1"
            };
            fields = fields.with(Field::Padding, padding);
        }
        let fields = fields.with(Field::Hash, hex::encode_upper(digest));
        self.send(command, &fields).await
    }

    /// `verifyecc` (**unconfirmed**): asks the device whether `signature` over `digest` is valid.
    ///
    /// # Errors
    /// Transport and device errors; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if the
    /// answer is not a yes or no.
    pub async fn verify_ecc(
        &self,
        nice_name: &str,
        algorithm: SignAlgorithm,
        digest: &[u8],
        signature: &Signature,
    ) -> Result<bool> {
        let fields = self
            .fields()
            .with(Field::NiceName, nice_name)
            .with(Field::HashAlgorithm, hash_name(algorithm))
            .with(Field::Hash, hex::encode_upper(digest))
            .with(Field::Signature, hex::encode_upper(signature.to_der()));
        let answer = self.send(Command::VerifyEcc, &fields).await?;
        parse::verification_of("n200.verify_ecc", &answer)
    }

    /// `deletekey` (**unconfirmed** command and fields): deletes the key `nice_name`.
    ///
    /// Sent once. When its outcome is unknown, asks the device for the key: gone means deleted
    /// (`Ok`); still there means not deleted (the original error, saying so).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound) for an unknown key; transport,
    /// authentication and device errors.
    pub async fn delete_key(&self, nice_name: &str, pin: &SecretString) -> Result<()> {
        let fields = self
            .fields()
            .with(Field::NiceName, nice_name)
            .with(Field::Pin, pin.expose_secret());
        let failure = match self.transport.post_call(Command::DeleteKey, &fields).await {
            Ok(_) => return Ok(()),
            Err(failure) if !failure.outcome_unknown => return Err(failure.error),
            Err(failure) => failure,
        };
        tracing::warn!("outcome of deletekey unknown: checking whether the key still exists");
        match self.key_attributes(nice_name).await {
            Err(e) if e.is_not_found() => Ok(()),
            Ok(_) => Err(explain(
                failure.error,
                "outcome unknown; the key still exists, so it was not deleted",
            )),
            Err(_) => Err(explain(
                failure.error,
                "outcome unknown, and whether the key still exists could not be checked",
            )),
        }
    }
}

/// `error` with `note` added to its message.
fn explain(error: Error, note: &str) -> Error {
    let message = match error.message() {
        Some(m) => format!("{m}; {note}"),
        None => note.to_owned(),
    };
    error.with_message(message)
}
