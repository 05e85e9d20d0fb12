//! The vpcd socket protocol (vsmartcard's virtual reader driver for pcscd): the card is a TCP
//! client of the reader; frames are `len: u16 BE || payload`; 1-byte frames are power events
//! (`00` off, `01` on, `02` reset) or the ATR request (`04`); longer frames are APDUs.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use hsm_core::{Error, ErrorKind, Result};

use super::SimulatedCard;

/// Connects to vpcd at `addr` and serves `card` until vpcd closes the connection. `on_connect`
/// runs once the connection is up (the card is then "inserted").
///
/// # Errors
/// Connecting failed (is pcscd with vpcd running?) or the connection broke.
pub fn serve(
    card: &SimulatedCard,
    addr: impl ToSocketAddrs,
    on_connect: impl FnOnce(),
) -> Result<()> {
    const OP: &str = "sc-hsm-sim.vpcd";
    let io = |e: std::io::Error| {
        Error::new(ErrorKind::Unavailable, OP)
            .with_message(format!("vpcd connection: {e}"))
            .with_source(e)
    };
    let mut s = TcpStream::connect(addr).map_err(io)?;
    s.set_nodelay(true).map_err(io)?;
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    on_connect();
    loop {
        let mut len = [0u8; 2];
        match s.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(io(e)),
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut msg).map_err(io)?;
        let reply = match msg.as_slice() {
            [0x04] => Some(super::ATR.to_vec()),
            [0x00..=0x02] => {
                card.power_cycle()?;
                None
            }
            [_] => None,
            apdu => Some(card.process(apdu)?),
        };
        if let Some(r) = reply {
            let n = u16::try_from(r.len()).map_err(|_| Error::protocol(OP, "response too long"))?;
            s.write_all(&n.to_be_bytes()).map_err(io)?;
            s.write_all(&r).map_err(io)?;
        }
    }
}
