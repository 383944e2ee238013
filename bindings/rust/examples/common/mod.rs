// SPDX-License-Identifier: BSD-2-Clause
//
// common/mod.rs: what the examples share besides the anyvi API: getopt-
// style argument parsing, parsers for numbers, MACs and IPv4 addresses,
// and a SIGINT/SIGTERM flag so that a stopped example still drops its VI
// (and with it its filters and the XDP program). Included by each example
// with `mod common;` (cargo does not build examples/common as an example).

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGINT / SIGTERM.
pub static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: i32) {
    STOP.store(true, Ordering::Relaxed);
}

extern "C" {
    // signal(2) from the C library: BSD semantics (the handler stays, system
    // calls restart). Declared here: the examples use no crates.
    fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize;
}

/// Turn SIGINT and SIGTERM into STOP, so the program ends through its
/// normal clean-up.
pub fn install_signals() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
}

/// True once a signal asked us to stop.
pub fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Options with their values ("" for flags), then the operands.
pub type Parsed = (Vec<(char, String)>, Vec<String>);

/// Split `args` (without the program name) into options and operands, in
/// the way of getopt(3): `spec` lists option letters, a letter followed by
/// ':' takes a value ("-n 5" or "-n5"), "--" ends the options.
pub fn getopt(args: &[String], spec: &str) -> Result<Parsed, String> {
    let mut opts = Vec::new();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.extend(it.cloned());
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            rest.push(a.clone());
            continue;
        }
        for (i, c) in a[1..].char_indices() {
            let pos = spec.find(c).ok_or_else(|| format!("unknown option -{c}"))?;
            if spec[pos + c.len_utf8()..].starts_with(':') {
                let inline = &a[1 + i + c.len_utf8()..];
                let v = if !inline.is_empty() {
                    inline.to_string()
                } else {
                    it.next()
                        .cloned()
                        .ok_or_else(|| format!("option -{c} needs a value"))?
                };
                opts.push((c, v));
                break;
            }
            opts.push((c, String::new()));
        }
    }
    Ok((opts, rest))
}

/// A decimal number in `lo..=hi`.
pub fn parse_num(s: &str, lo: u64, hi: u64) -> Option<u64> {
    s.parse::<u64>().ok().filter(|v| (lo..=hi).contains(v))
}

/// "aa:bb:cc:dd:ee:ff".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.is_empty() || part.len() > 2 {
            return None;
        }
        mac[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(mac)
}

/// Dotted-quad IPv4.
pub fn parse_ip(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// "aa:bb:cc:dd:ee:ff".
pub fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// An I/O error with the name of the call that failed and, for the errors
/// users commonly hit at set-up, a hint (as the C samples print).
pub fn ctx(what: &str, e: std::io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(1) | Some(13) => " (AF_XDP needs root, or CAP_NET_ADMIN + CAP_BPF + CAP_NET_RAW)",
        Some(19) => " (no such network interface in this namespace)",
        Some(16) => " (interface, queue or filter already in use)",
        Some(97) => " (kernel without AF_XDP support)",
        _ => "",
    };
    format!("{what}: {e}{hint}")
}
