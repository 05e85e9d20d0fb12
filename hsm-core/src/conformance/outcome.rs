//! What a conformance run found.

use std::fmt;

/// A passing run: the checks that passed and those that did not apply.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Checks that passed, one line each.
    pub passed: Vec<String>,
    /// Checks that did not apply to this store, with the reason.
    pub not_applicable: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance: {} checks passed, {} not applicable",
            self.passed.len(),
            self.not_applicable.len()
        )?;
        for line in &self.not_applicable {
            writeln!(f, "  n/a  {line}")?;
        }
        Ok(())
    }
}

/// A failing run: every check that failed, and the report of the rest.
#[derive(Clone, Debug)]
pub struct Failures {
    /// `(check, what happened)` for every failed check.
    pub failed: Vec<(String, String)>,
    /// What passed and what did not apply.
    pub report: Report,
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance: {} checks FAILED ({} passed)",
            self.failed.len(),
            self.report.passed.len()
        )?;
        for (check, detail) in &self.failed {
            writeln!(f, "  FAIL {check}: {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failures {}

/// Collects outcomes while the suite runs.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    report: Report,
    failed: Vec<(String, String)>,
}

impl Outcome {
    pub(super) fn pass(&mut self, check: impl Into<String>) {
        self.report.passed.push(check.into());
    }

    pub(super) fn fail(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.failed.push((check.into(), detail.into()));
    }

    pub(super) fn not_applicable(&mut self, check: impl Into<String>) {
        self.report.not_applicable.push(check.into());
    }

    /// Records `result` under `check`.
    pub(super) fn check(&mut self, check: impl Into<String>, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => {
                self.pass(check);
                true
            }
            Err(detail) => {
                self.fail(check, detail);
                false
            }
        }
    }

    pub(super) fn finish(self) -> Result<Report, Failures> {
        if self.failed.is_empty() {
            Ok(self.report)
        } else {
            Err(Failures {
                failed: self.failed,
                report: self.report,
            })
        }
    }
}
