//! SELECT of the SmartCard-HSM applet (which also logs out).

use hsm_core::{Error, Result};

use crate::client::card::{CardState, Commands};
use crate::protocol::apdu::Apdu;
use crate::protocol::files::AID;
use crate::protocol::tlv;

/// What the SELECT answer says about the applet (FCP tag 85).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppletInfo {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Applet type (`00` JCOP applet, `01` demo, `FF` other implementations).
    pub applet_type: Option<u8>,
    /// Low byte of the configuration options (bit 0: resetting the retry counter allowed,
    /// bit 1: transport PIN).
    pub options: Option<u8>,
}

impl Commands<'_> {
    /// SELECTs the applet. This drops the PIN state on the card.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::NotFound`] if the card has no SmartCard-HSM applet;
    /// [`hsm_core::ErrorKind::Protocol`] if the answer has no tag 85.
    pub fn select_applet(&mut self) -> Result<AppletInfo> {
        const OP: &str = "sc-hsm.select";
        let apdu = Apdu::new(0x00, 0xA4, 0x04, 0x00)
            .with_data(AID.to_vec())
            .expect(256);
        let fcp = self.send(&apdu, OP)?;
        *self.state_mut() = CardState {
            selected: true,
            user_authenticated: false,
        };
        parse_fcp(&fcp, OP)
    }
}

impl AppletInfo {
    /// Parses the FCP the card answers to SELECT (tag `62` with the proprietary tag `85`).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] for malformed TLV or a missing or short tag 85.
    pub fn parse(fcp: &[u8]) -> Result<Self> {
        parse_fcp(fcp, "sc-hsm.select")
    }
}

fn parse_fcp(fcp: &[u8], op: &'static str) -> Result<AppletInfo> {
    let (outer, _, _) = tlv::parse_one(fcp)?;
    let prop = outer
        .child(0x85)?
        .ok_or_else(|| Error::protocol(op, "the applet's FCP has no tag 85"))?;
    let n = prop.len();
    let (major, minor) = match prop.get(n.wrapping_sub(2)..) {
        Some([a, b]) if n >= 2 => (*a, *b),
        _ => return Err(Error::protocol(op, "tag 85 is shorter than 2 bytes")),
    };
    Ok(AppletInfo {
        major,
        minor,
        applet_type: n.checked_sub(3).and_then(|i| prop.get(i)).copied(),
        options: n.checked_sub(4).and_then(|i| prop.get(i)).copied(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fcp_opensc_accepts() {
        let fcp =
            hex::decode("6217820138840BE82B0601040181C31F0201850500 01FF0305".replace(' ', ""))
                .unwrap();
        let info = parse_fcp(&fcp, "t").unwrap();
        assert_eq!((info.major, info.minor), (3, 5));
        assert_eq!(info.applet_type, Some(0xFF));
        assert_eq!(info.options, Some(0x01));
        assert!(parse_fcp(&[0x62, 0x03, 0x85, 0x01, 0x03], "t").is_err());
    }
}
