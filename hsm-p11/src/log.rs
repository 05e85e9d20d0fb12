//! The module's log: a file (or standard error) at the configured level, set up once per
//! process (the first `C_Initialize` decides; later ones keep it).

use std::fs::OpenOptions;
use std::sync::{Mutex, Once};

use tracing::Level;

static INIT: Once = Once::new();

/// Sends the module's log to `file` (appended) or standard error, at `level`. Only the first call
/// in a process has an effect; a file that cannot be opened falls back to standard error, saying
/// so there.
pub(crate) fn init(level: Level, file: Option<&std::path::Path>) {
    INIT.call_once(|| {
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_target(false);
        let opened = file.map(|path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| (path.display().to_string(), e))
        });
        // A host program may have its own subscriber: then ours is not installed, and that is fine.
        let _ = match opened {
            Some(Ok(f)) => builder.with_writer(Mutex::new(f)).try_init(),
            Some(Err((path, e))) => {
                let r = builder.with_writer(std::io::stderr).try_init();
                tracing::error!("hsm-p11: cannot open log file {path}: {e}; logging to stderr");
                r
            }
            None => builder.with_writer(std::io::stderr).try_init(),
        };
    });
}
