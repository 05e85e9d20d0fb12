//! Capturing every `tracing` span and event as text.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::util::{SubscriberInitExt as _, TryInitError};

/// A subscriber that enables everything down to TRACE and appends each span (at creation: level,
/// name and fields), each later span record, and each event (level, target and fields) to one
/// text buffer.
///
/// Span fields are written when the span is created, so a field is captured even if no event
/// is ever emitted inside its span. Clones share the buffer.
#[derive(Clone, Debug, Default)]
pub struct TraceCapture {
    text: Arc<Mutex<String>>,
    next_id: Arc<AtomicU64>,
}

impl TraceCapture {
    /// A capture with an empty buffer, not installed anywhere yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs a new capture as the process's global subscriber and routes the `log` records
    /// of dependencies (rustls, hyper, cryptoki...) into it, so events from every thread are
    /// captured. Once per process: a test binary with one such test.
    ///
    /// # Errors
    ///
    /// If a global subscriber or `log` logger is already installed.
    pub fn install_global() -> Result<Self, TryInitError> {
        let capture = Self::new();
        capture.clone().try_init()?;
        Ok(capture)
    }

    /// Runs `f` with this capture as the current thread's subscriber. Only events of this
    /// thread are captured (threads `f` spawns need their own `in_scope`), and `log` records
    /// only if some capture was also installed with [`install_global`](Self::install_global).
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        tracing::subscriber::with_default(self.clone(), f)
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        self.lock().clone()
    }

    /// Appends a line: `head`, then the fields `record` visits.
    fn append(&self, head: std::fmt::Arguments<'_>, record: impl FnOnce(&mut dyn Visit)) {
        let mut text = self.lock();
        let _ = write!(text, "\n{head}");
        record(&mut Fields(&mut text));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, String> {
        self.text.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes each field as ` name=value`.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for TraceCapture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let metadata = span.metadata();
        self.append(
            format_args!("span {} {}", metadata.level(), metadata.name()),
            |fields| span.record(fields),
        );
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&mut self.lock()));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        self.append(
            format_args!("{} {}", metadata.level(), metadata.target()),
            |fields| event.record(fields),
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::TraceCapture;

    #[test]
    fn captures_spans_records_and_events_at_every_level_in_scope_only() {
        let capture = TraceCapture::new();
        capture.in_scope(|| {
            let span =
                tracing::trace_span!("outer.op", pin = "masked", late = tracing::field::Empty);
            span.record("late", 7);
            let _entered = span.enter();
            tracing::trace!(apdu = %"00A4", "C-APDU");
            tracing::error!(target: "custom.target", "boom");
        });
        tracing::error!("outside the scope");
        let text = capture.text();
        assert!(text.contains("span TRACE outer.op pin=masked"), "{text}");
        assert!(text.contains(" late=7"), "{text}");
        assert!(text.contains("TRACE hsm_core::testkit::trace"), "{text}");
        assert!(text.contains("message=C-APDU apdu=00A4"), "{text}");
        assert!(text.contains("ERROR custom.target message=boom"), "{text}");
        assert!(!text.contains("outside the scope"), "{text}");
    }

    #[test]
    fn clones_share_one_buffer() {
        let capture = TraceCapture::new();
        capture.clone().in_scope(|| tracing::debug!("shared"));
        assert!(capture.text().contains("DEBUG"));
        assert!(capture.text().contains("message=shared"));
    }
}
