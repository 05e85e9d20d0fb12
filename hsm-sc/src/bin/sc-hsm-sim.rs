//! `sc-hsm-sim --vpcd HOST:PORT [--state FILE]`: a simulated SmartCard-HSM in a vpcd reader
//! (pcscd then shows it in "Virtual PCD 00 00" for port 35963). Prints `card inserted` once
//! connected. Without `--state` the card starts factory-new (SO-PIN 3537363231383830).

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use hsm_sc::sim::{SimulatedCard, vpcd};

fn usage() -> ExitCode {
    eprintln!("usage: sc-hsm-sim --vpcd HOST:PORT [--state FILE] [--initialized]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut addr = None;
    let mut state: Option<PathBuf> = None;
    let mut initialized = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--vpcd" => addr = args.next(),
            "--state" => state = args.next().map(PathBuf::from),
            "--initialized" => initialized = true,
            _ => return usage(),
        }
    }
    let Some(addr) = addr else { return usage() };
    let card = match (&state, initialized) {
        (Some(p), _) => SimulatedCard::with_state_file(p),
        (None, true) => SimulatedCard::initialized(),
        (None, false) => SimulatedCard::factory_new(),
    };
    let card = match card {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sc-hsm-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let r = vpcd::serve(&card, addr.as_str(), || {
        println!("card inserted");
        let _ = std::io::stdout().flush();
    });
    match r {
        Ok(()) => {
            println!("card removed (vpcd closed the connection)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sc-hsm-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
