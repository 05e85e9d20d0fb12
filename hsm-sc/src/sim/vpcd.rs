//! The vpcd socket protocol (vsmartcard's virtual reader driver for pcscd): the card is a TCP
//! client of the reader; frames are `len: u16 BE || payload`; 1-byte frames are power events
//! (`00` off, `01` on, `02` reset) or the ATR request (`04`); longer frames are APDUs.
//!
//! [`serve`] runs a card in the calling thread (the `sc-hsm-sim` binary); [`InsertedCard`] runs
//! it in a background thread of this process and can pull it out again, also in the middle of
//! a command (fault tests, benches, examples).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hsm_core::{Error, ErrorKind, Result};

use super::SimulatedCard;

const OP: &str = "sc-hsm.vpcd";

/// No removal armed (a value no INS byte takes).
const DISARMED: u16 = u16::MAX;
/// Stored once the card has been pulled out during a command (no INS byte equals it).
const PULLED_OUT: u16 = u16::MAX - 1;

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Unavailable, OP)
        .with_message(format!("vpcd connection: {e}"))
        .with_source(e)
}

/// How long to wait for vpcd to accept: it has a backlog of one, so a slot that already holds
/// a card (another simulator) lets the connection hang rather than refusing it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn connect(addr: impl ToSocketAddrs) -> Result<TcpStream> {
    let mut last = None;
    let mut stream = None;
    for a in addr.to_socket_addrs().map_err(io)? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let s = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            return Err(Error::new(ErrorKind::Timeout, OP)
                .with_message("vpcd did not accept the card: is another card in that slot?")
                .with_source(e));
        }
        (None, Some(e)) => return Err(io(e)),
        (None, None) => {
            return Err(Error::invalid_input(
                OP,
                "the vpcd address resolves to nothing",
            ));
        }
    };
    s.set_nodelay(true).map_err(io)?;
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    Ok(s)
}

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
    let s = connect(addr)?;
    on_connect();
    serve_stream(card, s, &AtomicU16::new(DISARMED))
}

/// vpcd writes each frame as two segments (length, then payload) without `TCP_NODELAY`, so
/// Nagle holds the payload until the length is acknowledged, and a delayed ACK costs 40 ms per
/// APDU. Acknowledging at once (re-armed before every read) takes that to a fraction of a
/// millisecond (`cargo bench --bench sc_sign`: 49 ms -> 0.3 ms per P-256 signature).
///
/// `TcpStreamExt::set_quickack` is stable since Rust 1.89, the workspace's minimum.
fn quick_ack(s: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = std::os::linux::net::TcpStreamExt::set_quickack(s, true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = s;
}

/// Answers vpcd's frames on `s` until it closes, or until an APDU whose INS equals `remove_on`
/// arrives: then the connection is dropped without an answer (the card leaves the reader in
/// the middle of that command).
fn serve_stream(card: &SimulatedCard, mut s: TcpStream, remove_on: &AtomicU16) -> Result<()> {
    loop {
        quick_ack(&s);
        let mut len = [0u8; 2];
        match s.read_exact(&mut len) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(io(e)),
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if let Err(e) = s.read_exact(&mut msg) {
            return if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Ok(())
            } else {
                Err(io(e))
            };
        }
        let reply = match msg.as_slice() {
            [0x04] => Some(super::ATR.to_vec()),
            [0x00..=0x02] => {
                card.power_cycle()?;
                None
            }
            [_] => None,
            apdu => {
                let ins = apdu.get(1).copied().map_or(DISARMED, u16::from);
                if remove_on
                    .compare_exchange(ins, DISARMED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    tracing::debug!(ins = %format_args!("{ins:02X}"), "card pulled out during a command");
                    // marked out before the host can learn of it through pcscd
                    remove_on.store(PULLED_OUT, Ordering::Release);
                    let _ = s.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Some(card.process(apdu)?)
            }
        };
        if let Some(r) = reply {
            let n = u16::try_from(r.len()).map_err(|_| Error::protocol(OP, "response too long"))?;
            s.write_all(&n.to_be_bytes()).map_err(io)?;
            s.write_all(&r).map_err(io)?;
        }
    }
}

/// A simulated card inserted into a vpcd reader, answering from a background thread. Dropping
/// it (or [`InsertedCard::remove`]) pulls the card out; the [`SimulatedCard`] keeps its state
/// and can be inserted again.
pub struct InsertedCard {
    stream: TcpStream,
    remove_on: Arc<AtomicU16>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl std::fmt::Debug for InsertedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsertedCard")
            .field("peer", &self.stream.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

impl InsertedCard {
    /// Connects `card` to vpcd at `addr` (e.g. `127.0.0.1:35963` for "Virtual PCD 00 00").
    /// pcscd notices the card within one presence poll (400 ms).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if nothing listens at `addr`.
    pub fn insert(card: &SimulatedCard, addr: impl ToSocketAddrs) -> Result<Self> {
        let stream = connect(addr)?;
        let served = stream.try_clone().map_err(io)?;
        let remove_on = Arc::new(AtomicU16::new(DISARMED));
        let (card, armed) = (card.clone(), remove_on.clone());
        let thread = std::thread::Builder::new()
            .name("sc-hsm-sim-vpcd".into())
            .spawn(move || serve_stream(&card, served, &armed))
            .map_err(io)?;
        Ok(Self {
            stream,
            remove_on,
            thread: Some(thread),
        })
    }

    /// Arms a fault: the next command APDU with instruction byte `ins` (e.g. `0x68`, SIGN) is
    /// not answered; the card is pulled out while the host waits for the answer.
    pub fn remove_during_command(&self, ins: u8) {
        self.remove_on.store(u16::from(ins), Ordering::Release);
    }

    /// Whether the card is still in the reader (the connection is being served).
    #[must_use]
    pub fn is_inserted(&self) -> bool {
        self.remove_on.load(Ordering::Acquire) != PULLED_OUT
            && self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Pulls the card out and waits for the serving thread.
    ///
    /// # Errors
    /// The connection had broken with an I/O error, or the simulator failed.
    pub fn remove(mut self) -> Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> Result<()> {
        let _ = self.stream.shutdown(Shutdown::Both);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => {
                Err(Error::new(ErrorKind::Device, OP).with_message("the card thread panicked"))
            }
            None => Ok(()),
        }
    }
}

impl Drop for InsertedCard {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
