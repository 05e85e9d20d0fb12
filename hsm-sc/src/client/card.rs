//! [`ScClient`]: one card behind a [`CardChannel`], and [`Commands`], the command set.

use std::fmt;
use std::sync::{Arc, Mutex};

use hsm_core::Result;

use crate::protocol::apdu::{Apdu, Response};
use crate::protocol::emulator::CardEmulator;
use crate::protocol::status::StatusWord;
use crate::transport::{CardChannel, MemoryChannel, Transmit};

/// What the client knows about the card's state since the applet was last selected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CardState {
    /// The applet is selected (so the PIN state below is meaningful).
    pub selected: bool,
    /// The user PIN was verified since the selection.
    pub user_authenticated: bool,
}

/// A SmartCard-HSM behind a channel. Counts the APDUs it sends.
#[derive(Debug)]
pub struct ScClient {
    channel: Box<dyn CardChannel>,
    state: CardState,
    apdus: u64,
}

impl ScClient {
    /// A client for the card behind `channel`. Sends nothing yet.
    #[must_use]
    pub fn new(channel: Box<dyn CardChannel>) -> Self {
        Self {
            channel,
            state: CardState::default(),
            apdus: 0,
        }
    }

    /// A client for a card emulated in this process (the simulator's
    /// `SimulatedCard::emulator`), over a [`MemoryChannel`]: one more connection to that card.
    #[must_use]
    pub fn in_memory(card: Arc<Mutex<dyn CardEmulator>>) -> Self {
        Self::new(Box::new(MemoryChannel::new(card)))
    }

    /// How many APDUs were sent so far.
    #[must_use]
    pub fn apdu_count(&self) -> u64 {
        self.apdus
    }

    /// The client's view of the card state.
    #[must_use]
    pub fn state(&self) -> CardState {
        self.state
    }

    /// The channel.
    #[must_use]
    pub fn channel(&self) -> &dyn CardChannel {
        self.channel.as_ref()
    }

    fn sync_reset(&mut self) {
        if self.channel.take_reset() {
            self.state = CardState::default();
        }
    }

    /// Runs `f` with the command set, without exclusive access.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn run<T>(&mut self, f: impl FnOnce(&mut Commands<'_>) -> Result<T>) -> Result<T> {
        self.sync_reset();
        let channel: &mut dyn Transmit = self.channel.as_mut();
        let mut cmds = Commands {
            link: channel,
            state: &mut self.state,
            apdus: &mut self.apdus,
        };
        let r = f(&mut cmds);
        self.sync_reset();
        r
    }

    /// Runs `f` inside one PC/SC transaction, so that no other process can interleave commands
    /// (use it around VERIFY plus the operation that needs it).
    ///
    /// # Errors
    /// The transaction could not be started, or `f` failed.
    pub fn run_exclusive<T>(
        &mut self,
        f: impl FnOnce(&mut Commands<'_>) -> Result<T>,
    ) -> Result<T> {
        self.sync_reset();
        let mut f = Some(f);
        let mut out = None;
        let state = &mut self.state;
        let apdus = &mut self.apdus;
        let r = self.channel.exclusive(&mut |link| {
            let mut cmds = Commands {
                link,
                state: &mut *state,
                apdus: &mut *apdus,
            };
            if let Some(f) = f.take() {
                out = Some(f(&mut cmds)?);
            }
            Ok(())
        });
        self.sync_reset();
        r?;
        out.ok_or_else(|| hsm_core::Error::protocol("sc-hsm.exclusive", "the body did not run"))
    }
}

/// The SmartCard-HSM command set over one link (see the modules of [`crate::client`] for each
/// group).
pub struct Commands<'a> {
    link: &'a mut dyn Transmit,
    state: &'a mut CardState,
    apdus: &'a mut u64,
}

impl fmt::Debug for Commands<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Commands")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Commands<'_> {
    /// Sends one APDU and returns the parsed response, whatever its status word.
    ///
    /// # Errors
    /// Transport failures and malformed responses.
    pub fn transmit(&mut self, apdu: &Apdu, operation: &'static str) -> Result<Response> {
        *self.apdus += 1;
        tracing::trace!(apdu = %apdu.masked_hex(), "C-APDU");
        let raw = match self.link.transmit(&apdu.encode()) {
            Ok(raw) => raw,
            Err(e) => {
                *self.state = CardState::default();
                return Err(e.with_operation(operation));
            }
        };
        let r = Response::parse(raw, operation)?;
        tracing::trace!(len = r.data().len(), sw = ?r.sw(), "R-APDU");
        Ok(r)
    }

    /// Sends one APDU and returns the data of a `9000` answer; other status words become errors.
    ///
    /// # Errors
    /// Transport failures and the error the status word means.
    pub fn send(&mut self, apdu: &Apdu, operation: &'static str) -> Result<Vec<u8>> {
        let r = self.transmit(apdu, operation)?;
        if r.sw() == StatusWord::SECURITY_STATUS_NOT_SATISFIED {
            self.state.user_authenticated = false;
        }
        r.success(operation)
    }

    /// The state as the client knows it.
    #[must_use]
    pub fn state(&self) -> CardState {
        *self.state
    }

    pub(crate) fn state_mut(&mut self) -> &mut CardState {
        self.state
    }
}
