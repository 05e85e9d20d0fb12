//! Device administration on [`ScHsm`]: initialisation, DKEK shares, key backup (wrap/unwrap),
//! data objects, RSA decryption, ECDH.

use hsm_core::{Error, ErrorKind, KeyId, KeyInfo, Result};
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::ScHsm;
use super::keys::read_entry;
use crate::client::dkek::DkekStatus;
use crate::client::init::InitParams;
use crate::client::pin::SoPin;
use crate::protocol::dkek::ShareFile;
use crate::protocol::files::{fid, prefix};
use crate::protocol::pkcs15::{DataObjectDescription, PrivateKeyDescription};
use crate::protocol::wrapped_key::WrappedKeyFile;

impl ScHsm {
    /// Initialises the device (wiping all keys and files) and from then on uses the new user
    /// PIN. Reads the SO-PIN retry counter first (see [`crate::Commands::initialize`]).
    ///
    /// # Errors
    /// As [`crate::Commands::initialize`].
    pub fn initialize(&self, params: &InitParams) -> Result<()> {
        let _span = tracing::info_span!("sc-hsm.initialize").entered();
        let mut inner = self.lock()?;
        inner.keys = None;
        inner.plain(|c| c.initialize(params))?;
        inner.plain(|c| c.select_applet().map(drop))?;
        drop(inner);
        self.set_pin(params.user_pin.clone())
    }

    /// Unblocks the user PIN with the SO-PIN and sets `new_pin` (see
    /// [`crate::Commands::unblock_pin`]).
    ///
    /// # Errors
    /// As [`crate::Commands::unblock_pin`].
    pub fn unblock_pin(&self, so_pin: &SoPin, new_pin: &SecretString, force: bool) -> Result<()> {
        let _span = tracing::info_span!("sc-hsm.unblock_pin").entered();
        self.lock()?
            .plain(|c| c.unblock_pin(so_pin, Some(new_pin), force))?;
        self.set_pin(new_pin.clone())
    }

    /// Changes the user PIN.
    ///
    /// # Errors
    /// As [`crate::Commands::change_pin`].
    pub fn change_pin(&self, old: &SecretString, new: &SecretString) -> Result<()> {
        let _span = tracing::info_span!("sc-hsm.change_pin").entered();
        self.lock()?.plain(|c| c.change_pin(old, new))?;
        self.set_pin(new.clone())
    }

    /// The DKEK status, `None` when the device has no DKEK.
    ///
    /// # Errors
    /// Transport failures.
    pub fn dkek_status(&self) -> Result<Option<DkekStatus>> {
        self.lock()?.plain(|c| c.dkek_status())
    }

    /// Creates a DKEK share file as `sc-hsm-tool --create-dkek-share` does (share and salt from
    /// the card's random generator). Takes seconds (10 million MD5 iterations, three times).
    ///
    /// # Errors
    /// Transport failures; an empty password.
    pub fn create_dkek_share(&self, password: &SecretString) -> Result<ShareFile> {
        let _span = tracing::info_span!("sc-hsm.create_dkek_share").entered();
        const OP: &str = "sc-hsm.create_dkek_share";
        let rnd = self.lock()?.plain(|c| c.random(40))?;
        // `random` returns exactly what was asked for; never fall back to zeros.
        let (Some(share_bytes), Some(salt_bytes)) = (rnd.get(..32), rnd.get(32..40)) else {
            return Err(Error::protocol(
                OP,
                "the card returned too few random bytes",
            ));
        };
        let mut share = Zeroizing::new([0u8; 32]);
        let mut salt = [0u8; 8];
        share.copy_from_slice(share_bytes);
        salt.copy_from_slice(salt_bytes);
        ShareFile::encrypt(&share, password, salt)
    }

    /// Decrypts a share file (seconds) and imports the share.
    ///
    /// # Errors
    /// [`ErrorKind::AuthenticationFailed`] for a wrong password; card errors.
    pub fn import_dkek_share(
        &self,
        file: &ShareFile,
        password: &SecretString,
    ) -> Result<DkekStatus> {
        let _span = tracing::info_span!("sc-hsm.import_dkek_share").entered();
        let share = file.decrypt(password)?;
        self.lock()?.plain(|c| c.import_dkek_share(&share))
    }

    /// Exports a key encrypted under the DKEK, with its description and certificate, in the
    /// file format of `sc-hsm-tool --wrap-key`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key or a device without a complete DKEK.
    pub fn wrap_key(&self, key: &KeyId) -> Result<WrappedKeyFile> {
        const OP: &str = "sc-hsm.wrap_key";
        let _span = tracing::info_span!("sc-hsm.wrap_key").entered();
        let mut inner = self.lock()?;
        let e = inner.find(key, OP)?;
        inner.logged_in(OP, |c| {
            let blob = c.wrap_key(e.key_ref)?;
            let prkd = c.read_file(fid(prefix::PRKD, e.key_ref)).ok();
            let certificate = c.read_file(fid(prefix::CERT, e.key_ref)).ok();
            Ok(WrappedKeyFile {
                blob,
                prkd,
                certificate,
            })
        })
    }

    /// Imports a wrapped key under the lowest free key reference, writing its description and
    /// certificate as `sc-hsm-tool --unwrap-key` does. With `replace`, a key with the same
    /// label or id is deleted first.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] when a key with the same label or id exists (without
    /// `replace`); [`ErrorKind::InvalidInput`] when the blob does not match the DKEK.
    pub fn unwrap_key(&self, file: &WrappedKeyFile, replace: bool) -> Result<KeyInfo> {
        const OP: &str = "sc-hsm.unwrap_key";
        let _span = tracing::info_span!("sc-hsm.unwrap_key").entered();
        let desc = file
            .prkd
            .as_deref()
            .map(PrivateKeyDescription::decode)
            .transpose()?;
        if let Some(d) = &desc {
            let ids = [
                d.label.clone().and_then(|l| KeyId::name(l).ok()),
                KeyId::from_bytes(d.id.clone()).ok(),
            ];
            for id in ids.into_iter().flatten() {
                match hsm_core::KeyStore::key_info(self, &id) {
                    Ok(_) if replace => hsm_core::KeyStore::delete_key(self, &id)?,
                    Ok(_) => {
                        return Err(Error::new(ErrorKind::AlreadyExists, OP)
                            .with_message(format!("a key {id} exists already")));
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut inner = self.lock()?;
        let key_ref = inner.free_key_ref(OP)?;
        inner.keys = None;
        let entry = inner.logged_in(OP, |c| {
            c.unwrap_key(key_ref, &file.blob)?;
            if let Some(d) = &desc {
                let mut d = d.clone();
                d.key_ref = key_ref;
                c.write_file(fid(prefix::PRKD, key_ref), &d.encode())?;
            }
            if let Some(cert) = &file.certificate {
                c.write_file(fid(prefix::CERT, key_ref), cert)?;
            }
            read_entry(c, key_ref)
        })?;
        entry
            .key_id()
            .map(|id| KeyInfo::new(id, entry.spec).with_extra("key_ref", key_ref.to_string()))
            .ok_or_else(|| Error::protocol(OP, "the unwrapped key has an unusable label"))
    }

    fn data_objects(&self) -> Result<Vec<(u8, DataObjectDescription)>> {
        self.lock()?.plain(|c| {
            let mut out = Vec::new();
            for f in c.list_files()? {
                let [p, n] = f.to_be_bytes();
                if p == prefix::DCOD
                    && let Ok(d) = c
                        .read_file(f)
                        .and_then(|d| DataObjectDescription::decode(&d))
                {
                    out.push((n, d));
                }
            }
            Ok(out)
        })
    }

    /// The data object labelled `label` (its number and description); a NotFound error of
    /// `operation` when there is none.
    fn data_object(
        &self,
        label: &str,
        operation: &'static str,
    ) -> Result<(u8, DataObjectDescription)> {
        self.data_objects()?
            .into_iter()
            .find(|(_, d)| d.label == label)
            .ok_or_else(|| Error::not_found(operation, format!("no data object {label:?}")))
    }

    /// Writes a data object (`CFxx` public or `CDxx` private, described in `C9xx`) as
    /// `pkcs11-tool --write-object --type data` does. Replaces one with the same label.
    ///
    /// # Errors
    /// Card errors; [`ErrorKind::PermissionDenied`] without the user PIN.
    pub fn write_data_object(&self, label: &str, data: &[u8], private: bool) -> Result<()> {
        const OP: &str = "sc-hsm.write_data_object";
        let existing = self.data_objects()?;
        let mut inner = self.lock()?;
        let used: Vec<u16> = inner.plain(|c| c.list_files())?;
        let n = match existing.iter().find(|(_, d)| d.label == label) {
            Some((n, _)) => *n,
            None => (0..=255u8)
                .find(|n| {
                    ![prefix::DCOD, prefix::PUBLIC_DATA, prefix::PRIVATE_DATA]
                        .iter()
                        .any(|p| used.contains(&fid(*p, *n)))
                })
                .ok_or_else(|| {
                    Error::new(ErrorKind::Device, OP).with_message("no free data object slot")
                })?,
        };
        let file = fid(
            if private {
                prefix::PRIVATE_DATA
            } else {
                prefix::PUBLIC_DATA
            },
            n,
        );
        let desc = DataObjectDescription {
            label: label.to_owned(),
            application: Some(label.to_owned()),
            fid: file,
            private,
        };
        inner.logged_in(OP, |c| {
            c.write_file(file, data)?;
            c.write_file(fid(prefix::DCOD, n), &desc.encode())
        })
    }

    /// Reads a data object by label.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is none.
    pub fn read_data_object(&self, label: &str) -> Result<Vec<u8>> {
        const OP: &str = "sc-hsm.read_data_object";
        let (_, d) = self.data_object(label, OP)?;
        let mut inner = self.lock()?;
        if d.private {
            inner.logged_in(OP, |c| c.read_file(d.fid))
        } else {
            inner.plain(|c| c.read_file(d.fid))
        }
    }

    /// Deletes a data object and its description.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is none.
    pub fn delete_data_object(&self, label: &str) -> Result<()> {
        const OP: &str = "sc-hsm.delete_data_object";
        let (n, d) = self.data_object(label, OP)?;
        self.lock()?.logged_in(OP, |c| {
            c.delete_file(d.fid)?;
            c.delete_file(fid(prefix::DCOD, n))
        })
    }

    /// RSA raw decryption (the host removes the padding).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key; card errors.
    pub fn decrypt_raw(&self, key: &KeyId, cryptogram: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        const OP: &str = "sc-hsm.decrypt";
        let mut inner = self.lock()?;
        let e = inner.find(key, OP)?;
        inner.logged_in(OP, |c| c.decipher(e.key_ref, cryptogram))
    }

    /// ECDH with an EC key on the card; returns the shared x coordinate.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key; card errors.
    pub fn ecdh(&self, key: &KeyId, peer_point: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        const OP: &str = "sc-hsm.ecdh";
        let mut inner = self.lock()?;
        let e = inner.find(key, OP)?;
        inner.logged_in(OP, |c| c.ecdh(e.key_ref, peer_point))
    }
}
