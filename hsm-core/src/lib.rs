#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod async_store;
#[cfg(feature = "tokio")]
pub mod asynchronous;
pub mod certificate;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod const_hex;
pub mod entry_points;
pub mod error;
pub mod forward;
pub mod hash;
pub mod key_id;
pub mod key_info;
pub mod key_spec;
#[cfg(feature = "mock")]
pub mod mock;
mod named;
pub mod observe;
pub mod options;
pub mod private_key;
pub mod public_key;
#[cfg(feature = "tokio")]
pub mod runtime;
pub mod rustcrypto;
pub mod secret;
pub mod sign_pipeline;
pub mod sign_request;
pub mod signature;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod uri;
mod verify;

pub use crate::algorithm::SignAlgorithm;
pub use crate::async_store::{AsyncHsm, AsyncKeyStore, AsyncSigner, BoxFuture};
pub use crate::error::{DeviceStatus, Error, ErrorKind, Result};
pub use crate::hash::HashAlgorithm;
pub use crate::key_id::KeyId;
pub use crate::key_info::{ImportRequest, KeyInfo, KeyTemplate};
pub use crate::key_spec::{Curve, KeySpec, KeyType};
pub use crate::options::OpenOptions;
pub use crate::private_key::{PrivateKeyDer, PrivateKeyParts};
pub use crate::public_key::PublicKey;
pub use crate::secret::{ExposeSecret, SecretString};
pub use crate::sign_request::{EcdsaEncoding, SignRequest};
pub use crate::signature::Signature;
pub use crate::store::{Capabilities, Hsm, KeyStore, MAX_RANDOM_LEN, Signer};
