//! Browser tests: a real Chromium, driven through WebDriver (ChromeDriver),
//! against `sclerad demo --serve` on 127.0.0.1. They read as the study's
//! people work: a reader logs in, reads a hand radiograph by clicking the
//! drawing and a spine CT by keyboard, meets a conflict from a second tab;
//! an adjudicator settles a disagreement and the consensus is in the export.
//! Every page is checked with axe-core and saved as a screenshot (see
//! [`harness::screenshots`]).
//!
//! This is sclerad-cli's second test binary, on purpose: it needs Chromium
//! and its driver (`.ci/run` installs Debian's `chromium` and
//! `chromium-driver`); without them it fails, unless
//! `SCLERAD_SKIP_BROWSER=1`.

mod harness;

mod adjudicator;
mod admin;
mod analyst;
mod images;
mod manage;
mod pages;
mod reader;
