//! Response APDUs: data and the status word.

use std::fmt;

use hsm_core::{Error, Result};

use crate::protocol::status::{StatusWord, error_for_status};

/// A response APDU split into its data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    data: Vec<u8>,
    sw: StatusWord,
}

impl Response {
    /// Splits raw response bytes (`data || SW1 SW2`).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if fewer than two bytes arrived.
    pub fn parse(mut raw: Vec<u8>, operation: &'static str) -> Result<Self> {
        let n = raw.len();
        let sw = match raw.get(n.wrapping_sub(2)..) {
            Some([sw1, sw2]) if n >= 2 => StatusWord(u16::from_be_bytes([*sw1, *sw2])),
            _ => {
                return Err(Error::protocol(
                    operation,
                    format!("the card answered {n} bytes, less than a status word"),
                ));
            }
        };
        raw.truncate(n - 2);
        Ok(Self { data: raw, sw })
    }

    /// [`Self::parse`] on borrowed bytes.
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn from_bytes(raw: &[u8]) -> Result<Self> {
        Self::parse(raw.to_vec(), "sc-hsm.response")
    }

    /// Builds a response (used by the simulator and tests).
    #[must_use]
    pub fn new(data: Vec<u8>, sw: u16) -> Self {
        Self {
            data,
            sw: StatusWord(sw),
        }
    }

    /// The status word.
    #[must_use]
    pub fn sw(&self) -> StatusWord {
        self.sw
    }

    /// The response data.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The data if the status is `9000`, otherwise the error the status word means.
    ///
    /// # Errors
    /// The mapped error of [`error_for_status`].
    pub fn success(self, operation: &'static str) -> Result<Vec<u8>> {
        if self.sw.is_success() {
            Ok(self.data)
        } else {
            Err(error_for_status(self.sw.0, operation))
        }
    }

    /// The encoding `data || SW1 SW2`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend(self.sw.0.to_be_bytes());
        out
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("len", &self.data.len())
            .field("sw", &self.sw)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsm_core::ErrorKind;

    #[test]
    fn parse_and_map() {
        let r = Response::parse(vec![1, 2, 0x90, 0x00], "t").unwrap();
        assert_eq!(r.data(), &[1, 2]);
        assert_eq!(r.success("t").unwrap(), vec![1, 2]);
        let e = Response::parse(vec![0x63, 0xC2], "t")
            .unwrap()
            .success("t")
            .unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::AuthenticationFailed {
                retries_left: Some(2)
            }
        );
        assert!(Response::parse(vec![0x90], "t").is_err());
        assert!(Response::parse(vec![], "t").is_err());
    }
}
