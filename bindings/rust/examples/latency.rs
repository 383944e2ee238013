// SPDX-License-Identifier: BSD-2-Clause
//
// latency: UDP ping-pong round-trip latency over one ef_vi VI, the Rust
// twin of tools/eflatency (same options, same wire protocol, same output),
// so either side can run against the C program.
//
// Protocol (as eflatency): frame k carries k & 0xffff in its IPv4
// identification and the pong echoes it. Frame 0 synchronises: the ping
// resends it every 10 ms until an answer comes. Then `warmups` unmeasured
// and `iterations` measured round trips; the pong answers every frame and
// counts a frame when its id differs from the previous one; the ping
// ignores answers whose id it is not waiting for.
//
// Fast path, per round trip: (ping) set the id in a prebuilt TX frame,
// transmit, busy-poll until the RX event with that id; (pong) on each RX
// event transmit the answer at once, then re-post the RX buffer. TX
// completions return buffers to a small rotation.

mod common;

use anyvi::{udp, Driver, Event, MemReg, Pd, PdFlags, Vi, ViFlags};
use common::{ctx, fmt_mac, getopt, parse_ip, parse_mac, parse_num};
use std::collections::VecDeque;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::exit;
use std::time::{Duration, Instant};

const BUF_SIZE: usize = 2048;
const N_TX: usize = 8; // prebuilt TX buffers in rotation: ids 0..N_TX
const MAX_RX: usize = 64; // RX buffers kept posted: ids N_TX..
const N_EVS: usize = 16; // events per poll
const PENDING: usize = 256; // answers waiting for a TX buffer
const SYNC_RESEND: Duration = Duration::from_millis(10);
const SPINS_PER_CHECK: u32 = 256; // polls between clock/signal checks

struct Cfg {
    ping: bool,
    ifname: String,
    iterations: u64,
    warmups: u64,
    paylen: usize,
    laddr: Ipv4Addr,
    raddr: Ipv4Addr,
    port: u16,
    rmac: [u8; 6],
    raw_path: Option<String>,
    yaml_path: Option<String>,
    timeout: f64,
}

fn usage(to_stdout: bool) -> ! {
    let text = "usage: latency [options] ping|pong <interface>\n\
        \n\
        UDP ping-pong latency between two hosts (the Rust eflatency). Start\n\
        'pong' on one and 'ping' on the other with the same -n, -w and -s;\n\
        the ping side prints the round-trip times in microseconds.\n\
        \n\
        options:\n  \
          -n N      measured iterations (default 100000)\n  \
          -w N      warm-up iterations (default 10000)\n  \
          -s BYTES  UDP payload size (default 28)\n  \
          -l IP     local IPv4 (default 198.18.0.1 ping, 198.18.0.2 pong)\n  \
          -r IP     remote IPv4 (default the other one)\n  \
          -p PORT   UDP port, source and destination (default 8080)\n  \
          -m MAC    remote MAC (default ff:ff:ff:ff:ff:ff)\n  \
          -o FILE   write raw round-trip times (ns), one per line (ping)\n  \
          -y FILE   write the results as YAML (ping)\n  \
          -t SECS   fail if no answer comes or the run lasts longer than\n            \
                    this (default 30; 0: no limit)\n  \
          -h        this help";
    if to_stdout {
        println!("{text}");
        exit(0)
    }
    eprintln!("{text}");
    exit(2)
}

fn bad(msg: String) -> ! {
    eprintln!("latency: {msg}");
    usage(false)
}

fn parse_args() -> Cfg {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (opts, rest) = getopt(&argv, "n:w:s:l:r:p:m:o:y:t:h").unwrap_or_else(|e| bad(e));
    let mut c = Cfg {
        ping: false,
        ifname: String::new(),
        iterations: 100_000,
        warmups: 10_000,
        paylen: 28,
        laddr: Ipv4Addr::UNSPECIFIED,
        raddr: Ipv4Addr::UNSPECIFIED,
        port: 8080,
        rmac: [0xff; 6],
        raw_path: None,
        yaml_path: None,
        timeout: 30.0,
    };
    let (mut laddr, mut raddr) = (None, None);
    for (o, v) in opts {
        match o {
            'n' => {
                c.iterations = parse_num(&v, 1, 1_000_000_000)
                    .unwrap_or_else(|| bad(format!("bad iteration count '{v}' (1..1000000000)")))
            }
            'w' => {
                c.warmups = parse_num(&v, 0, 1_000_000_000)
                    .unwrap_or_else(|| bad(format!("bad warm-up count '{v}'")))
            }
            's' => {
                c.paylen = parse_num(&v, 0, 65535)
                    .unwrap_or_else(|| bad(format!("bad payload size '{v}'")))
                    as usize
            }
            'l' => laddr = Some(v),
            'r' => raddr = Some(v),
            'p' => {
                c.port =
                    parse_num(&v, 1, 65535).unwrap_or_else(|| bad(format!("bad port '{v}'"))) as u16
            }
            'm' => c.rmac = parse_mac(&v).unwrap_or_else(|| bad(format!("bad MAC address '{v}'"))),
            'o' => c.raw_path = Some(v),
            'y' => c.yaml_path = Some(v),
            't' => {
                c.timeout = v
                    .parse::<f64>()
                    .ok()
                    .filter(|t| *t >= 0.0)
                    .unwrap_or_else(|| bad(format!("bad timeout '{v}'")))
            }
            'h' => usage(true),
            _ => usage(false),
        }
    }
    if rest.len() != 2 {
        bad("expected ping|pong and an interface".into());
    }
    c.ping = match rest[0].as_str() {
        "ping" => true,
        "pong" => false,
        other => bad(format!("expected 'ping' or 'pong', not '{other}'")),
    };
    c.ifname = rest[1].clone();
    let (l, r) = if c.ping {
        ("198.18.0.1", "198.18.0.2")
    } else {
        ("198.18.0.2", "198.18.0.1")
    };
    let laddr = laddr.unwrap_or_else(|| l.into());
    let raddr = raddr.unwrap_or_else(|| r.into());
    c.laddr = parse_ip(&laddr).unwrap_or_else(|| bad(format!("bad local IPv4 address '{laddr}'")));
    c.raddr = parse_ip(&raddr).unwrap_or_else(|| bad(format!("bad remote IPv4 address '{raddr}'")));
    c
}

fn main() {
    let cfg = parse_args();
    common::install_signals();
    if !cfg.ping && (cfg.raw_path.is_some() || cfg.yaml_path.is_some()) {
        eprintln!("latency: note: -o and -y are used by the ping side only");
    }
    if let Err(e) = run(cfg) {
        eprintln!("latency: {e}");
        exit(1);
    }
}

fn run(cfg: Cfg) -> Result<(), String> {
    let driver = Driver::open().map_err(|e| ctx("ef_driver_open", e))?;
    let pd = Pd::alloc_by_name(&driver, &cfg.ifname, PdFlags::DEFAULT)
        .map_err(|e| ctx(&format!("ef_pd_alloc_by_name({})", cfg.ifname), e))?;
    let vi = Vi::alloc(&pd, ViFlags::DEFAULT)
        .map_err(|e| ctx(&format!("ef_vi_alloc_from_pd({})", cfg.ifname), e))?;
    let n_rx = vi.receive_capacity().min(MAX_RX);
    let mem = MemReg::alloc(&pd, N_TX + n_rx, BUF_SIZE).map_err(|e| ctx("ef_memreg_alloc", e))?;
    let mut l = Lat::new(cfg, &vi, mem, n_rx)?;
    let spec = anyvi::FilterSpec::udp_local(l.cfg.laddr, l.cfg.port)
        .map_err(|e| ctx("ef_filter_spec_set_ip4_local", e))?;
    // The filter and Lat both borrow the VI; it outlives them.
    let _filter = vi.add_filter(&spec).map_err(|e| {
        ctx(
            &format!(
                "ef_vi_filter_add({}, udp:{}:{})",
                l.cfg.ifname, l.cfg.laddr, l.cfg.port
            ),
            e,
        )
    })?;
    l.print_header();
    let mut evs = [Event::default(); N_EVS];
    l.deadline = deadline(l.cfg.timeout);
    if l.cfg.ping {
        let mut rtt = Vec::with_capacity(l.cfg.iterations as usize);
        l.ping_run(&mut evs, &mut rtt)?;
        l.drain(&mut evs)?;
        l.report(&mut rtt)?;
    } else {
        l.pong_run(&mut evs)?;
        l.drain(&mut evs)?;
    }
    l.report_anomalies();
    Ok(())
}

fn deadline(secs: f64) -> Option<Instant> {
    (secs > 0.0).then(|| Instant::now() + Duration::from_secs_f64(secs))
}

#[derive(Default)]
struct Counts {
    stale: u64,
    foreign: u64,
    bad_id: u64,
    discards: u64,
    no_desc: u64,
    tx_errors: u64,
    dropped_answers: u64,
}

struct Lat<'a> {
    cfg: Cfg,
    vi: &'a Vi<'a>,
    mem: MemReg<'a>,
    n_bufs: usize,
    prefix: usize,
    frame_len: usize,
    tx_free: Vec<u32>,
    deadline: Option<Instant>,
    // ping: the id awaited, whether it came, and when
    expect_id: u16,
    got: bool,
    t_rx: Instant,
    // pong: answers owed, frames counted
    pending: VecDeque<u16>,
    distinct: u64,
    last_id: Option<u16>,
    first_rx: Option<Instant>,
    cnt: Counts,
}

impl<'a> Lat<'a> {
    fn new(cfg: Cfg, vi: &'a Vi<'a>, mut mem: MemReg<'a>, n_rx: usize) -> Result<Lat<'a>, String> {
        let prefix = vi.receive_prefix_len();
        // The frame must fit the MTU and one buffer (RX side included).
        let room = BUF_SIZE
            .min(vi.receive_buffer_len().saturating_sub(prefix))
            .min(vi.mtu());
        if room < udp::HDRS_LEN {
            return Err(format!(
                "interface {}: frame limit {room} too small",
                cfg.ifname
            ));
        }
        if cfg.paylen > room - udp::HDRS_LEN {
            return Err(format!(
                "payload size {} too large: at most {} on {}",
                cfg.paylen,
                room - udp::HDRS_LEN,
                cfg.ifname
            ));
        }
        if vi.transmit_capacity() < N_TX {
            return Err(format!(
                "TX ring of {} too small ({})",
                cfg.ifname,
                vi.transmit_capacity()
            ));
        }
        // Prebuild the whole frame in every TX buffer; only the IPv4 id
        // changes per send.
        let flow = udp::UdpFlow {
            dmac: cfg.rmac,
            smac: vi.mac().map_err(|e| ctx("ef_vi_get_mac", e))?,
            saddr: cfg.laddr,
            daddr: cfg.raddr,
            sport: cfg.port,
            dport: cfg.port,
        };
        let mut frame_len = 0;
        for id in 0..N_TX {
            let b = mem.buf_mut(id);
            b[udp::HDRS_LEN..udp::HDRS_LEN + cfg.paylen].fill(0);
            frame_len = udp::write_headers(b, &flow, cfg.paylen, 0).expect("checked to fit");
        }
        // Ids below N_TX are the TX rotation, the rest receive buffers.
        for id in N_TX..N_TX + n_rx {
            vi.receive_init(&mem, mem.buf_offset(id), id as u32)
                .map_err(|e| ctx("ef_vi_receive_init", e))?;
        }
        vi.receive_push();
        Ok(Lat {
            cfg,
            vi,
            n_bufs: mem.n_bufs(),
            mem,
            prefix,
            frame_len,
            tx_free: (0..N_TX as u32).collect(),
            deadline: None,
            expect_id: 0,
            got: false,
            t_rx: Instant::now(),
            pending: VecDeque::with_capacity(PENDING),
            distinct: 0,
            last_id: None,
            first_rx: None,
            cnt: Counts::default(),
        })
    }

    fn print_header(&self) {
        println!("# ef_vi_version_str: {}", anyvi::version());
        println!("# interface: {}", self.cfg.ifname);
        println!("# backend: {}", self.vi.describe());
        println!("# udp payload len: {}", self.cfg.paylen);
        println!("# iterations: {}", self.cfg.iterations);
        println!("# warmups: {}", self.cfg.warmups);
        println!("# frame len: {}", self.frame_len);
        let _ = std::io::stdout().flush();
    }

    // ---- events ---------------------------------------------------------------

    /// Transmit a TX buffer carrying `ip_id`. Returns the send time, or
    /// None when no TX buffer or ring slot is free right now.
    fn send_id(&mut self, ip_id: u16) -> Result<Option<Instant>, String> {
        let Some(id) = self.tx_free.pop() else {
            return Ok(None);
        };
        let off = self.mem.buf_offset(id as usize);
        udp::set_ip_id(self.mem.buf_mut(id as usize), ip_id);
        let t = Instant::now();
        match self.vi.transmit(&self.mem, off, self.frame_len, id) {
            Ok(()) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.tx_free.push(id);
                Ok(None)
            }
            Err(e) => Err(ctx("ef_vi_transmit", e)),
        }
    }

    /// (pong) Answer now if a TX buffer is free, else queue the answer.
    fn answer(&mut self, ip_id: u16) -> Result<(), String> {
        if self.pending.is_empty() && self.send_id(ip_id)?.is_some() {
            return Ok(());
        }
        if self.pending.len() == PENDING {
            self.cnt.dropped_answers += 1;
        } else {
            self.pending.push_back(ip_id);
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<(), String> {
        while let Some(&ip_id) = self.pending.front() {
            if self.send_id(ip_id)?.is_none() {
                break;
            }
            self.pending.pop_front();
        }
        Ok(())
    }

    /// A frame arrived in buffer `id`. The pong answers before re-posting,
    /// so that the answer leaves as early as possible.
    fn on_rx(&mut self, id: u32, len: usize) -> Result<(), String> {
        let i = id as usize;
        if i < N_TX || i >= self.n_bufs {
            self.cnt.bad_id += 1;
            return Ok(());
        }
        let frame = &self.mem.buf(i)[self.prefix..len.clamp(self.prefix, BUF_SIZE)];
        let ip_id = match udp::parse(frame) {
            Some(d) => Some(d.ip_id),
            None => {
                self.cnt.foreign += 1;
                None
            }
        };
        if let Some(ip_id) = ip_id {
            if self.cfg.ping {
                if ip_id == self.expect_id && !self.got {
                    self.t_rx = Instant::now();
                    self.got = true;
                } else {
                    self.cnt.stale += 1;
                }
            } else {
                self.answer(ip_id)?;
                if self.last_id != Some(ip_id) {
                    if self.distinct == 0 {
                        self.first_rx = Some(Instant::now());
                    }
                    self.distinct += 1;
                    self.last_id = Some(ip_id);
                }
            }
        }
        self.vi
            .receive_init(&self.mem, self.mem.buf_offset(i), id)
            .map_err(|e| ctx("ef_vi_receive_init", e))
    }

    /// Poll the event queue once and handle every event.
    fn poll(&mut self, evs: &mut [Event]) -> Result<usize, String> {
        let n = self
            .vi
            .poll(&mut self.mem, evs)
            .map_err(|e| ctx("ef_eventq_poll", e))?;
        let mut n_rx = 0;
        for ev in &evs[..n] {
            match *ev {
                Event::Rx { id, len, sop, cont } => {
                    // Our frames fit one buffer; pieces of larger ones are
                    // foreign (len 0: parse refuses them) and only go back.
                    self.on_rx(id, if sop && !cont { len } else { 0 })?;
                    n_rx += 1;
                }
                Event::Tx { ref ids } => self.tx_put(ids),
                Event::RxDiscard { id, .. } => {
                    self.cnt.discards += 1;
                    let i = id as usize;
                    if (N_TX..self.n_bufs).contains(&i) {
                        self.vi
                            .receive_init(&self.mem, self.mem.buf_offset(i), id)
                            .map_err(|e| ctx("ef_vi_receive_init", e))?;
                        n_rx += 1;
                    } else {
                        self.cnt.bad_id += 1;
                    }
                }
                Event::TxError { ref ids, .. } => {
                    self.cnt.tx_errors += 1;
                    self.tx_put(ids);
                }
                Event::RxNoDescTrunc => self.cnt.no_desc += 1,
                Event::Reset => return Err(format!("interface {} was reset", self.cfg.ifname)),
                _ => {}
            }
        }
        if n_rx > 0 {
            self.vi.receive_push();
        }
        Ok(n)
    }

    fn tx_put(&mut self, ids: &[u32]) {
        for &id in ids {
            if (id as usize) < N_TX && self.tx_free.len() < N_TX {
                self.tx_free.push(id);
            } else {
                self.cnt.bad_id += 1;
            }
        }
    }

    /// Called every SPINS_PER_CHECK polls: stop on a signal or when the
    /// deadline has passed.
    fn check(&self, waiting_for: &str) -> Result<Instant, String> {
        let now = Instant::now();
        if common::stopped() {
            return Err(format!("interrupted while waiting for {waiting_for}"));
        }
        if self.deadline.is_some_and(|d| now >= d) {
            return Err(format!(
                "timeout ({} s, -t) while waiting for {waiting_for}",
                self.cfg.timeout
            ));
        }
        Ok(now)
    }

    // ---- ping -----------------------------------------------------------------

    /// Send `ip_id`, waiting for a free TX buffer. Returns the send time.
    fn ping_send(&mut self, evs: &mut [Event], ip_id: u16) -> Result<Instant, String> {
        self.expect_id = ip_id;
        self.got = false;
        let mut spins = 0u32;
        loop {
            if let Some(t) = self.send_id(ip_id)? {
                return Ok(t);
            }
            self.poll(evs)?;
            spins = spins.wrapping_add(1);
            if spins % SPINS_PER_CHECK == 0 {
                self.check("a TX completion")?;
            }
        }
    }

    fn ping_run(&mut self, evs: &mut [Event], rtt: &mut Vec<u64>) -> Result<(), String> {
        // Frame 0, resent every 10 ms until the pong answers.
        let mut t_last = self.ping_send(evs, 0)?;
        let mut spins = 0u32;
        while !self.got {
            self.poll(evs)?;
            spins = spins.wrapping_add(1);
            if spins % SPINS_PER_CHECK == 0 && !self.got {
                let now = self.check("the pong side to answer")?;
                if now - t_last >= SYNC_RESEND {
                    t_last = self.ping_send(evs, 0)?;
                }
            }
        }
        let total = self.cfg.warmups + self.cfg.iterations;
        for k in 1..=total {
            let t0 = self.ping_send(evs, (k & 0xffff) as u16)?;
            let mut spins = 0u32;
            while !self.got {
                self.poll(evs)?;
                spins = spins.wrapping_add(1);
                if spins % SPINS_PER_CHECK == 0 && !self.got {
                    self.check("an answer")?;
                }
            }
            if k > self.cfg.warmups {
                rtt.push((self.t_rx - t0).as_nanos() as u64);
            }
        }
        Ok(())
    }

    // ---- pong -----------------------------------------------------------------

    fn pong_run(&mut self, evs: &mut [Event]) -> Result<(), String> {
        let total = self.cfg.warmups + self.cfg.iterations + 1;
        let mut spins = 0u32;
        let mut started = false;
        while self.distinct < total {
            self.poll(evs)?;
            self.flush_pending()?;
            spins = spins.wrapping_add(1);
            if spins % SPINS_PER_CHECK != 0 {
                continue;
            }
            if !started && self.distinct > 0 {
                // The whole-run limit counts from the first frame.
                started = true;
                if let (Some(_), Some(first)) = (self.deadline, self.first_rx) {
                    self.deadline = Some(first + Duration::from_secs_f64(self.cfg.timeout));
                }
            }
            self.check(if started {
                "the remaining frames"
            } else {
                "the first frame"
            })?;
        }
        Ok(())
    }

    /// Wait (at most 1 s) until every transmit has completed.
    fn drain(&mut self, evs: &mut [Event]) -> Result<(), String> {
        let end = Instant::now() + Duration::from_secs(1);
        while (self.tx_free.len() < N_TX || !self.pending.is_empty())
            && Instant::now() < end
            && !common::stopped()
        {
            self.poll(evs)?;
            self.flush_pending()?;
        }
        if self.tx_free.len() < N_TX {
            eprintln!(
                "latency: warning: {} transmits did not complete within 1 s",
                N_TX - self.tx_free.len()
            );
        }
        Ok(())
    }

    // ---- results --------------------------------------------------------------

    fn report(&self, rtt: &mut [u64]) -> Result<(), String> {
        if let Some(p) = &self.cfg.raw_path {
            let mut s = String::with_capacity(rtt.len() * 8);
            for t in rtt.iter() {
                s.push_str(&t.to_string());
                s.push('\n');
            }
            std::fs::write(p, s).map_err(|e| format!("cannot write {p}: {e}"))?;
        }
        let st = Stats::of(rtt);
        println!("#\tpaylen\tmean\tmin\tmedian\t95%ile\t99%ile\t99.9%ile\tmax");
        println!(
            "{}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}",
            self.cfg.paylen, st.mean, st.min, st.median, st.p95, st.p99, st.p999, st.max
        );
        let _ = std::io::stdout().flush();
        if let Some(p) = &self.cfg.yaml_path {
            self.write_yaml(p, &st)?;
        }
        Ok(())
    }

    fn write_yaml(&self, path: &str, s: &Stats) -> Result<(), String> {
        let c = &self.cfg;
        let y = format!(
            "eflatency:\n  ef_vi_version_str: \"{}\"\n  interface: \"{}\"\n  local_ip: \"{}\"\n  \
             remote_ip: \"{}\"\n  remote_mac: \"{}\"\n  udp_port: {}\n  udp_payload_len: {}\n  \
             frame_len: {}\n  iterations: {}\n  warmups: {}\n  round_trip_us:\n    mean: {:.3}\n    \
             min: {:.3}\n    median: {:.3}\n    p95: {:.3}\n    p99: {:.3}\n    p99_9: {:.3}\n    \
             max: {:.3}\n  stale_answers: {}\n",
            anyvi::version(),
            c.ifname,
            c.laddr,
            c.raddr,
            fmt_mac(&c.rmac),
            c.port,
            c.paylen,
            self.frame_len,
            c.iterations,
            c.warmups,
            s.mean,
            s.min,
            s.median,
            s.p95,
            s.p99,
            s.p999,
            s.max,
            self.cnt.stale
        );
        std::fs::write(path, y).map_err(|e| format!("cannot write {path}: {e}"))
    }

    /// Anything unusual goes to stderr, so that stdout keeps the format.
    fn report_anomalies(&self) {
        let c = &self.cnt;
        for (what, v) in [
            ("discards", c.discards),
            ("rx no-desc drops", c.no_desc),
            ("tx errors", c.tx_errors),
            ("events with an unknown buffer id", c.bad_id),
            ("frames that were not UDP/IPv4", c.foreign),
            ("answers dropped (no TX buffer)", c.dropped_answers),
        ] {
            if v > 0 {
                eprintln!("# {what}: {v}");
            }
        }
    }
}

/// Round-trip statistics in microseconds.
struct Stats {
    mean: f64,
    min: f64,
    median: f64,
    p95: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

impl Stats {
    /// Sorts `ns` in place; nearest-rank percentiles, as eflatency.
    fn of(ns: &mut [u64]) -> Stats {
        ns.sort_unstable();
        let n = ns.len();
        let us = |v: u64| v as f64 / 1000.0;
        let pct = |p: f64| us(ns[((p * n as f64).ceil() as usize).clamp(1, n) - 1]);
        let sum: f64 = ns.iter().map(|&v| v as f64).sum();
        Stats {
            mean: sum / n as f64 / 1000.0,
            min: us(ns[0]),
            median: pct(0.5),
            p95: pct(0.95),
            p99: pct(0.99),
            p999: pct(0.999),
            max: us(ns[n - 1]),
        }
    }
}
