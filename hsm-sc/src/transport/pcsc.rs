//! PC/SC through the `pcsc` crate: reader selection by name, transactions, insert/remove events.
//!
//! PC/SC has no per-command timeout: `SCardTransmit` waits as long as the reader driver does
//! (pcscd's own card timeouts apply). Waits for card events take an explicit timeout.

use std::ffi::CString;
use std::fmt;
use std::time::Duration;

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use zeroize::Zeroize;

use super::{CardChannel, Transmit};

const OP: &str = "sc-hsm.pcsc";

fn pcsc_error(operation: &'static str, e: pcsc::Error) -> Error {
    let kind = match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => ErrorKind::Unavailable,
        pcsc::Error::NoReadersAvailable
        | pcsc::Error::UnknownReader
        | pcsc::Error::ReaderUnavailable
        | pcsc::Error::NoSmartcard
        | pcsc::Error::RemovedCard
        | pcsc::Error::UnpoweredCard
        | pcsc::Error::UnresponsiveCard
        | pcsc::Error::CommError
        | pcsc::Error::NotTransacted
        | pcsc::Error::InvalidHandle
        | pcsc::Error::SharingViolation => ErrorKind::Unavailable,
        pcsc::Error::ResetCard => ErrorKind::InvalidState,
        pcsc::Error::Timeout => ErrorKind::Timeout,
        _ => ErrorKind::Device,
    };
    let message = match e {
        pcsc::Error::NoService => "the PC/SC service (pcscd) is not running".to_owned(),
        pcsc::Error::ServiceStopped => "the PC/SC service (pcscd) stopped".to_owned(),
        pcsc::Error::SharingViolation => "another process holds the card exclusively".to_owned(),
        pcsc::Error::ResetCard => {
            "the card was reset by another process; the PIN state is lost".to_owned()
        }
        pcsc::Error::RemovedCard => "the card was removed from the reader".to_owned(),
        pcsc::Error::NoSmartcard => "there is no card in the reader".to_owned(),
        pcsc::Error::ReaderUnavailable | pcsc::Error::UnknownReader => {
            "the reader is gone".to_owned()
        }
        pcsc::Error::CommError | pcsc::Error::NotTransacted => {
            "the card stopped answering in the middle of a command (removed?)".to_owned()
        }
        other => other.to_string(),
    };
    Error::new(kind, operation)
        .with_message(message)
        .with_status(DeviceStatus::PcSc(e as u32))
        .with_source(e)
}

/// The names of the PC/SC readers.
///
/// # Errors
/// [`ErrorKind::Unavailable`] if pcscd is not running.
pub fn list_readers() -> Result<Vec<String>> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| pcsc_error(OP, e))?;
    reader_names(&ctx)
}

fn reader_names(ctx: &pcsc::Context) -> Result<Vec<String>> {
    match ctx.list_readers_owned() {
        Ok(r) => Ok(r
            .into_iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(pcsc_error(OP, e)),
    }
}

/// A shared PC/SC connection to the card in one reader.
///
/// When the card is removed, the reader goes away or pcscd stops, the failing call returns
/// [`ErrorKind::Unavailable`] at once (nothing waits for the card to come back) and the
/// connection is marked lost; the next call connects afresh to the same reader and reports a
/// reset (the card's PIN state is gone).
pub struct PcscChannel {
    ctx: pcsc::Context,
    card: Option<pcsc::Card>,
    reader: String,
    reset: bool,
    buffer: Vec<u8>,
}

impl PcscChannel {
    /// Connects (shared mode, T=0 or T=1) to the card in the first reader whose name contains
    /// `reader` (all readers when `None`) and that holds a card.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when pcscd is not running, no reader matches or no card is
    /// present; [`ErrorKind::NotFound`] when no reader name contains `reader`.
    pub fn connect(reader: Option<&str>) -> Result<Self> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| pcsc_error(OP, e))?;
        let names = reader_names(&ctx)?;
        let matching: Vec<&String> = names
            .iter()
            .filter(|n| reader.is_none_or(|s| n.contains(s)))
            .collect();
        if matching.is_empty() {
            return Err(
                Error::new(ErrorKind::NotFound, OP).with_message(match reader {
                    Some(s) => format!("no PC/SC reader name contains {s:?} (readers: {names:?})"),
                    None => "no PC/SC reader is connected".to_owned(),
                }),
            );
        }
        let mut last = None;
        for name in matching {
            let cname = CString::new(name.as_str())
                .map_err(|_| Error::invalid_input(OP, "reader name contains a NUL byte"))?;
            match ctx.connect(&cname, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
                Ok(card) => {
                    tracing::debug!(reader = %name, "connected");
                    return Ok(Self {
                        ctx,
                        card: Some(card),
                        reader: name.clone(),
                        reset: false,
                        buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
                    });
                }
                Err(e) => last = Some(pcsc_error("sc-hsm.connect", e)),
            }
        }
        Err(last.unwrap_or_else(|| Error::new(ErrorKind::Unavailable, OP)))
    }

    /// The name of the reader this channel is connected to.
    #[must_use]
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's ATR.
    ///
    /// # Errors
    /// The PC/SC status call failed.
    pub fn atr(&self) -> Result<Vec<u8>> {
        let st = self
            .card
            .as_ref()
            .ok_or_else(|| lost(OP))?
            .status2_owned()
            .map_err(|e| pcsc_error(OP, e))?;
        Ok(st.atr().to_vec())
    }

    /// A monitor for card insertion and removal in this channel's reader.
    ///
    /// # Errors
    /// pcscd is not running.
    pub fn monitor(&self) -> Result<ReaderMonitor> {
        ReaderMonitor::new(&self.reader)
    }

    fn reconnect(&mut self) -> Result<()> {
        self.card
            .as_mut()
            .ok_or_else(|| lost("sc-hsm.reconnect"))?
            .reconnect(
                pcsc::ShareMode::Shared,
                pcsc::Protocols::ANY,
                pcsc::Disposition::LeaveCard,
            )
            .map_err(|e| pcsc_error("sc-hsm.reconnect", e))?;
        self.reset = true;
        Ok(())
    }

    /// After a loss: a new connection to the card in the same reader (a new PC/SC context
    /// when pcscd restarted). Fails at once while there is no card.
    fn reopen(&mut self) -> Result<()> {
        const REOPEN: &str = "sc-hsm.reconnect";
        if self.card.is_none() {
            // a fresh context: pcscd may have restarted, which the old one cannot tell
            self.ctx =
                pcsc::Context::establish(pcsc::Scope::User).map_err(|e| pcsc_error(REOPEN, e))?;
            let name = CString::new(self.reader.as_str())
                .map_err(|_| Error::invalid_input(REOPEN, "reader name contains a NUL byte"))?;
            let card = self
                .ctx
                .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
                .map_err(|e| pcsc_error(REOPEN, e))?;
            tracing::debug!(reader = %self.reader, "connected again after losing the card");
            self.reset = true;
            self.card = Some(card);
        }
        Ok(())
    }

    /// Marks the connection lost when `e` says the card, reader or service went away.
    fn note(&mut self, e: Error) -> Error {
        let busy = matches!(
            e.status(),
            Some(DeviceStatus::PcSc(code)) if *code == pcsc::Error::SharingViolation as u32
        );
        if e.kind() == ErrorKind::Unavailable && !busy {
            if let Some(card) = self.card.take() {
                let _ = card.disconnect(pcsc::Disposition::LeaveCard);
            }
            self.reset = true;
        }
        e
    }
}

fn lost(operation: &'static str) -> Error {
    Error::new(ErrorKind::Unavailable, operation).with_message("the card connection is lost")
}

impl fmt::Debug for PcscChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscChannel")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

fn transmit_on(card: &pcsc::Card, buffer: &mut [u8], command: &[u8]) -> Result<Vec<u8>> {
    let (result, used) = match card.transmit(command, buffer) {
        // Every answer carries a status word. An empty one is what a reader driver hands
        // back when the card went away in the middle of the command (vpcd does exactly this).
        Ok(answer) if answer.len() < 2 => (
            Err(pcsc_error("sc-hsm.transmit", pcsc::Error::CommError)
                .with_message("the card stopped answering in the middle of a command (removed?)")),
            answer.len(),
        ),
        Ok(answer) => (Ok(answer.to_vec()), answer.len()),
        Err(e) => (Err(pcsc_error("sc-hsm.transmit", e)), 0),
    };
    // The answer may be a decrypted key or an ECDH secret: leave no copy in the buffer.
    if let Some(used) = buffer.get_mut(..used) {
        used.zeroize();
    }
    result
}

impl Transmit for PcscChannel {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        if let Err(e) = self.reopen() {
            return Err(self.note(e));
        }
        let Some(card) = self.card.as_ref() else {
            return Err(lost("sc-hsm.transmit"));
        };
        match transmit_on(card, &mut self.buffer, command) {
            Err(e) if e.kind() == ErrorKind::InvalidState => {
                // Another process reset the card: reconnect and tell the caller, who must
                // select the applet and log in again. The command is not repeated here.
                self.reconnect().map_err(|e| self.note(e))?;
                Err(e)
            }
            Err(e) => Err(self.note(e)),
            ok => ok,
        }
    }
}

struct InTransaction<'a, 'tx> {
    tx: &'a pcsc::Transaction<'tx>,
    buffer: &'a mut [u8],
}

impl Transmit for InTransaction<'_, '_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        transmit_on(self.tx, self.buffer, command)
    }
}

impl CardChannel for PcscChannel {
    fn exclusive(&mut self, body: &mut dyn FnMut(&mut dyn Transmit) -> Result<()>) -> Result<()> {
        if let Err(e) = self.reopen() {
            return Err(self.note(e));
        }
        let Some(card) = self.card.as_mut() else {
            return Err(lost("sc-hsm.transaction"));
        };
        let outcome = match card.transaction() {
            Ok(tx) => {
                let result = body(&mut InTransaction {
                    tx: &tx,
                    buffer: &mut self.buffer,
                });
                if let Err((_, e)) = tx.end(pcsc::Disposition::LeaveCard) {
                    tracing::debug!(error = %e, "ending the PC/SC transaction failed");
                }
                Ok(result)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(result) => result.map_err(|e| self.note(e)),
            Err(pcsc::Error::ResetCard) => {
                self.reconnect().map_err(|e| self.note(e))?;
                Err(pcsc_error("sc-hsm.transaction", pcsc::Error::ResetCard))
            }
            Err(e) => Err(self.note(pcsc_error("sc-hsm.transaction", e))),
        }
    }

    fn take_reset(&mut self) -> bool {
        std::mem::take(&mut self.reset)
    }
}

/// A card event in a monitored reader.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardEvent {
    /// A card was inserted (or was present when monitoring started).
    Inserted {
        /// The reader.
        reader: String,
        /// The card's ATR.
        atr: Vec<u8>,
    },
    /// The card was removed.
    Removed {
        /// The reader.
        reader: String,
    },
}

/// Watches readers whose name contains a substring for card insertion and removal
/// (`SCardGetStatusChange`).
pub struct ReaderMonitor {
    ctx: pcsc::Context,
    filter: String,
    states: Vec<pcsc::ReaderState>,
    present: Vec<bool>,
}

impl fmt::Debug for ReaderMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderMonitor")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl ReaderMonitor {
    /// Monitors the readers whose name contains `reader`.
    ///
    /// # Errors
    /// pcscd is not running, or no reader matches.
    pub fn new(reader: &str) -> Result<Self> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| pcsc_error(OP, e))?;
        let mut states = Vec::new();
        for name in reader_names(&ctx)?
            .into_iter()
            .filter(|n| n.contains(reader))
        {
            let cname = CString::new(name)
                .map_err(|_| Error::invalid_input(OP, "reader name contains a NUL byte"))?;
            states.push(pcsc::ReaderState::new(cname, pcsc::State::UNAWARE));
        }
        if states.is_empty() {
            return Err(Error::not_found(
                OP,
                format!("no PC/SC reader name contains {reader:?}"),
            ));
        }
        let present = vec![false; states.len()];
        Ok(Self {
            ctx,
            filter: reader.to_owned(),
            states,
            present,
        })
    }

    /// Waits up to `timeout` for the next insertion or removal; `Ok(None)` on timeout.
    ///
    /// # Errors
    /// The PC/SC wait failed.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<CardEvent>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(ev) = self.pending_event() {
                return Ok(Some(ev));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.ctx.get_status_change(left, &mut self.states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) => return Ok(None),
                Err(e) => return Err(pcsc_error("sc-hsm.monitor", e)),
            }
        }
    }

    fn pending_event(&mut self) -> Option<CardEvent> {
        for (st, was) in self.states.iter_mut().zip(self.present.iter_mut()) {
            let ev = st.event_state();
            let now = ev.contains(pcsc::State::PRESENT) && !ev.contains(pcsc::State::MUTE);
            let reader = st.name().to_string_lossy().into_owned();
            let atr = st.atr().to_vec();
            st.sync_current_state();
            if now != *was {
                *was = now;
                return Some(if now {
                    CardEvent::Inserted { reader, atr }
                } else {
                    CardEvent::Removed { reader }
                });
            }
        }
        None
    }
}
