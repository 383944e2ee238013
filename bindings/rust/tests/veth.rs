// SPDX-License-Identifier: BSD-2-Clause
//
// veth.rs: the ef_vi flow through the Rust binding on a real link. Each
// test builds its own test network (DESIGN.md): two network namespaces
// joined by a veth pair, 198.18.0.0/15 addresses, no default route,
// deleted by a guard's Drop even when the test panics. Threads enter a
// namespace with setns(2) on /run/netns/NAME (a network namespace is per
// thread), so the VI lives in namespace A while kernel sockets send from
// namespace B.
//
// Needs root (AF_XDP, namespaces) and the `ip` and `ethtool` commands;
// without them each test prints a "skipped" note and passes, unless
// ANYVI_TEST_NO_SKIP=1 (the main suite's rust_binding.sh sets it).
//
// Namespace and link names follow tests/harness/netns.sh ("al" + PID in 7
// digits + 4 digits + a/b), so the suite's stale clean-up also removes
// what a killed run left behind.

use anyvi::{udp, Driver, Event, FilterSpec, MemReg, Pd, PdFlags, Vi, ViFlags};
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

extern "C" {
    fn geteuid() -> u32;
    fn setns(fd: i32, nstype: i32) -> i32;
}
const CLONE_NEWNET: i32 = 0x4000_0000;

const BUF: usize = 2048;

// ---- the test network -------------------------------------------------------

/// Why the tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    // SAFETY: no arguments, no side effects.
    if unsafe { geteuid() } != 0 {
        return Some("needs root (AF_XDP and network namespaces)".into());
    }
    for cmd in ["ip", "ethtool"] {
        if find_cmd(cmd).is_none() {
            return Some(format!("missing command: {cmd}"));
        }
    }
    None
}

/// A command's path: on PATH, or in the sbin directories that a root
/// shell has but a user's PATH (or sudo's) may lack.
fn find_cmd(cmd: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
                .iter()
                .map(Into::into),
        )
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// Held by each test while it runs. The C library keys its per-process
/// AF_XDP state (UMEM ports) by interface index, queue and network
/// namespace, but takes the namespace from /proc/self/ns/net, which is the
/// main thread's, not that of a thread that entered another namespace with
/// setns (that would be /proc/thread-self/ns/net). The first veth of each
/// fresh namespace gets the same index, so two tests' VIs, on threads in
/// different namespaces, would collide (EINVAL, EBADF).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Print the skip note and return true when the test cannot run.
fn skipped(test: &str) -> bool {
    match skip_reason() {
        None => false,
        Some(why) => {
            if std::env::var_os("ANYVI_TEST_NO_SKIP").is_some_and(|v| v == "1") {
                panic!("{test}: cannot run ({why}) and ANYVI_TEST_NO_SKIP=1");
            }
            eprintln!("{test}: skipped: {why}");
            true
        }
    }
}

/// Run a command; its stdout, or an error with its stderr. A sanitizer
/// runtime preloaded into the test (the suite's sanitizer run) is not
/// passed on to the commands.
fn run(args: &[&str]) -> Result<String, String> {
    let exe = find_cmd(args[0]).ok_or_else(|| format!("{}: not found", args[0]))?;
    let out = Command::new(exe)
        .args(&args[1..])
        .env_remove("LD_PRELOAD")
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Two namespaces joined by a veth pair; deleted on drop.
struct Net {
    ns: [String; 2],
    ifname: [String; 2],
    ip: [Ipv4Addr; 2],
    mac: [[u8; 6]; 2],
    created: Vec<String>,
}

impl Net {
    fn new() -> Net {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let mut net = Net {
            ns: Default::default(),
            ifname: Default::default(),
            ip: [Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)],
            mac: [[0; 6]; 2],
            created: Vec::new(),
        };
        let pid = std::process::id() % 10_000_000;
        let listed = run(&["ip", "netns", "list"]).unwrap_or_default();
        let mut id = String::new();
        for _ in 0..20 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let r = (nanos / 1000 + SEQ.fetch_add(1, Ordering::Relaxed) * 7919) % 10_000;
            let cand = format!("al{pid:07}{r:04}");
            if !listed.lines().any(|l| l.starts_with(&cand)) {
                id = cand;
                break;
            }
        }
        assert!(!id.is_empty(), "no free namespace name");
        for (i, side) in ["a", "b"].iter().enumerate() {
            net.ns[i] = format!("{id}{side}");
            net.ifname[i] = format!("{id}{side}");
        }
        // Recorded before creation, so that a half-made network is removed.
        for ns in net.ns.clone() {
            net.created.push(ns.clone());
            run(&["ip", "netns", "add", &ns]).unwrap();
        }
        let (a, b) = (&net.ns[0], &net.ns[1]);
        let (ia, ib) = (&net.ifname[0], &net.ifname[1]);
        run(&[
            "ip", "link", "add", "name", ia, "netns", a, "type", "veth", "peer", "name", ib,
            "netns", b,
        ])
        .unwrap();
        for i in 0..2 {
            let (ns, dev) = (&net.ns[i], &net.ifname[i]);
            let addr = format!("{}/24", net.ip[i]);
            run(&["ip", "-n", ns, "addr", "add", &addr, "dev", dev]).unwrap();
            let _ = run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
            ]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]).unwrap();
            run(&["ip", "-n", ns, "link", "set", dev, "up"]).unwrap();
            // veth leaves TX checksums to the peer: without this, frames
            // reach XDP with unfinished UDP checksums (DESIGN.md).
            run(&["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off"]).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for i in 0..2 {
            loop {
                let s = run(&[
                    "ip",
                    "-n",
                    &net.ns[i],
                    "-o",
                    "link",
                    "show",
                    "dev",
                    &net.ifname[i],
                ])
                .unwrap();
                if s.contains("LOWER_UP") {
                    let mac = s
                        .split("link/ether ")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .unwrap();
                    for (k, part) in mac.split(':').enumerate() {
                        net.mac[i][k] = u8::from_str_radix(part, 16).unwrap();
                    }
                    break;
                }
                assert!(Instant::now() < deadline, "veth did not come up");
                thread::sleep(Duration::from_millis(50));
            }
        }
        // Static neighbours: no ARP in the way of the first datagrams.
        for i in 0..2 {
            let peer = 1 - i;
            let mac = net.mac[peer]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            run(&[
                "ip",
                "-n",
                &net.ns[i],
                "neigh",
                "replace",
                &net.ip[peer].to_string(),
                "lladdr",
                &mac,
                "dev",
                &net.ifname[i],
                "nud",
                "permanent",
            ])
            .unwrap();
        }
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.created.drain(..) {
            // Processes never run in our namespaces (only threads of this
            // process, which are gone by now), so deleting is enough; the
            // veth and any XDP program on it go with the namespace.
            let _ = run(&["ip", "netns", "del", &ns]);
        }
    }
}

/// Run `f` on a new thread inside namespace `ns`.
fn in_ns<'s, T: Send + 's>(
    s: &'s thread::Scope<'s, '_>,
    ns: &str,
    f: impl FnOnce() -> T + Send + 's,
) -> thread::ScopedJoinHandle<'s, T> {
    let path = format!("/run/netns/{ns}");
    s.spawn(move || {
        let f_ns = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: a valid namespace fd; affects this thread only.
        let rc = unsafe { setns(f_ns.as_raw_fd(), CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns({path}): {}", io::Error::last_os_error());
        f()
    })
}

/// A kernel UDP socket bound in the calling thread's namespace.
fn kernel_socket(ip: Ipv4Addr, port: u16) -> UdpSocket {
    let s = UdpSocket::bind(SocketAddrV4::new(ip, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s
}

/// Read datagrams until `n` have come or `secs` have passed.
fn recv_n(s: &UdpSocket, n: usize, secs: u64) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    let end = Instant::now() + Duration::from_secs(secs);
    while got.len() < n && Instant::now() < end {
        if let Ok((len, _)) = s.recv_from(&mut buf) {
            got.push(buf[..len].to_vec());
        }
    }
    got
}

fn payloads(tag: &str, n: usize) -> Vec<Vec<u8>> {
    // Lengths from 0 to 1400 bytes, each payload distinct.
    (0..n)
        .map(|i| {
            let mut p = format!("{tag}-{i:04}").into_bytes();
            let extra = (i * 97) % 1400;
            p.extend((0..extra).map(|k| (k * 31 + i) as u8));
            if i == 0 {
                p.clear(); // an empty datagram, too
            }
            p
        })
        .collect()
}

// ---- the VI side ------------------------------------------------------------

#[derive(Debug, Default)]
struct Received {
    datagrams: Vec<(SocketAddrV4, Vec<u8>)>,
    discards: usize,
    no_desc: usize,
    tx_done: Vec<u32>,
    other: usize,
}

/// Handle the events of one poll: datagrams are recorded (and echoed from
/// buffer `tx` if `echo`), buffers re-posted, TX ids collected.
fn handle(
    vi: &Vi<'_>,
    mem: &mut MemReg<'_>,
    evs: &[Event],
    n_rx: usize,
    echo: Option<[u8; 6]>,
    tx_free: &mut Vec<u32>,
    r: &mut Received,
) {
    let prefix = vi.receive_prefix_len();
    let mut repost = false;
    for ev in evs {
        match *ev {
            Event::Rx { id, len, sop, cont } => {
                assert!(sop && !cont, "one buffer per datagram");
                let i = id as usize;
                assert!(i < n_rx, "an RX id we posted, got {id}");
                let frame = &mem.buf(i)[prefix..len];
                let d = udp::parse(frame).expect("a UDP/IPv4 frame");
                assert!(d.checksums_ok());
                r.datagrams.push((d.src, d.payload.to_vec()));
                if let Some(mac) = echo {
                    let flow = udp::UdpFlow {
                        dmac: d.smac,
                        smac: mac,
                        saddr: *d.dst.ip(),
                        daddr: *d.src.ip(),
                        sport: d.dst.port(),
                        dport: d.src.port(),
                    };
                    let payload = d.payload.to_vec();
                    let t = tx_free.pop().expect("a free TX buffer");
                    let flen = udp::build(mem.buf_mut(t as usize), &flow, &payload, 0).unwrap();
                    vi.transmit(mem, mem.buf_offset(t as usize), flen, t)
                        .unwrap();
                }
                vi.receive_init(mem, mem.buf_offset(i), id).unwrap();
                repost = true;
            }
            Event::RxDiscard { id, .. } => {
                r.discards += 1;
                vi.receive_init(mem, mem.buf_offset(id as usize), id)
                    .unwrap();
                repost = true;
            }
            Event::Tx { ref ids } => {
                r.tx_done.extend_from_slice(ids);
                tx_free.extend_from_slice(ids);
            }
            Event::RxNoDescTrunc => r.no_desc += 1,
            _ => r.other += 1,
        }
    }
    if repost {
        vi.receive_push();
    }
}

// ---- tests ------------------------------------------------------------------

/// The guide's flow: a VI in A with a UDP filter receives exactly the
/// datagrams that a kernel socket in B sends to the filtered port, with
/// their contents, and echoes each from its TX ring; datagrams to another
/// port reach A's kernel instead; once the filter is dropped, the port is
/// the kernel's again.
#[test]
fn veth_udp_filter_flow() {
    if skipped("veth_udp_filter_flow") {
        return;
    }
    let _serial = serial();
    let net = Net::new();
    const PORT: u16 = 9400;
    const N: usize = 40;
    const M: usize = 5;
    let sent = payloads("anyvi", N);
    let (ip_a, ip_b) = (net.ip[0], net.ip[1]);
    let (to_b_ready, ready) = mpsc::channel::<()>();
    let (to_b_dropped, dropped) = mpsc::channel::<()>();
    let (to_a_sent, all_sent) = mpsc::channel::<()>();

    let (netr, sent_r) = (&net, &sent);
    thread::scope(|s| {
        let vi_side = in_ns(s, &netr.ns[0], move || {
            let net = netr;
            let driver = Driver::open().unwrap();
            let pd = Pd::alloc_by_name(&driver, &net.ifname[0], PdFlags::DEFAULT).unwrap();
            assert_eq!(pd.interface_name(), net.ifname[0]);
            let vi = Vi::alloc(&pd, ViFlags::DEFAULT).unwrap();
            let mac = vi.mac().unwrap();
            assert_eq!(mac, net.mac[0]);
            assert!(vi.mtu() >= 1514);
            let n_rx = vi.receive_capacity().min(64);
            // One TX buffer per datagram: a poll hands back up to 15 RX
            // events before the TX events of the same batch, so with fewer
            // buffers than datagrams a burst (a slow, sanitized run) could
            // echo more than there are free buffers.
            let n_tx = N + 8;
            let mut mem = MemReg::alloc(&pd, n_rx + n_tx, BUF).unwrap();
            for i in 0..n_rx {
                vi.receive_init(&mem, mem.buf_offset(i), i as u32).unwrap();
            }
            vi.receive_push();
            assert_eq!(vi.receive_fill_level(), n_rx);
            let filter = vi
                .add_filter(&FilterSpec::udp_local(ip_a, PORT).unwrap())
                .unwrap();
            // The same filter twice on one VI is EEXIST.
            let e = vi
                .add_filter(&FilterSpec::udp_local(ip_a, PORT).unwrap())
                .unwrap_err();
            assert_eq!(e.raw_os_error(), Some(17));
            // Kernel sockets of A: one on another port, one that takes the
            // filtered port back after the filter is gone.
            let other = kernel_socket(ip_a, PORT + 1);
            let later = kernel_socket(ip_a, PORT);
            to_b_ready.send(()).unwrap();

            let mut r = Received::default();
            let mut tx_free: Vec<u32> = (n_rx as u32..(n_rx + n_tx) as u32).collect();
            let mut evs = [Event::default(); 16];
            let end = Instant::now() + Duration::from_secs(15);
            let mut sender_done = false;
            // Until all datagrams came, the sender is done, and a quiet
            // 100 ms has shown that nothing else arrives.
            let mut quiet_since = Instant::now();
            while Instant::now() < end {
                let n = vi.poll(&mut mem, &mut evs).unwrap();
                if n > 0 {
                    handle(
                        &vi,
                        &mut mem,
                        &evs[..n],
                        n_rx,
                        Some(mac),
                        &mut tx_free,
                        &mut r,
                    );
                    quiet_since = Instant::now();
                }
                sender_done = sender_done || all_sent.try_recv().is_ok();
                if sender_done
                    && r.datagrams.len() >= N
                    && quiet_since.elapsed() > Duration::from_millis(100)
                {
                    break;
                }
            }
            // Every echo completes (Tx events return every buffer).
            let end = Instant::now() + Duration::from_secs(2);
            while tx_free.len() < n_tx && Instant::now() < end {
                let n = vi.poll(&mut mem, &mut evs).unwrap();
                handle(&vi, &mut mem, &evs[..n], n_rx, None, &mut tx_free, &mut r);
            }
            assert_eq!(vi.transmit_fill_level(), 0);
            let other_got = recv_n(&other, M, 5);

            drop(filter);
            to_b_dropped.send(()).unwrap();
            let later_got = recv_n(&later, 1, 5);
            (r, tx_free.len(), n_tx, other_got, later_got)
        });

        let b_side = in_ns(s, &netr.ns[1], move || {
            let sent = sent_r;
            ready
                .recv_timeout(Duration::from_secs(15))
                .expect("VI side ready");
            let sock = kernel_socket(ip_b, 0);
            let dst = SocketAddrV4::new(ip_a, PORT);
            for p in sent {
                sock.send_to(p, dst).unwrap();
                thread::sleep(Duration::from_micros(200));
            }
            let stray = kernel_socket(ip_b, 0);
            for i in 0..M {
                stray
                    .send_to(
                        format!("kernel-{i}").as_bytes(),
                        SocketAddrV4::new(ip_a, PORT + 1),
                    )
                    .unwrap();
            }
            let echoes = recv_n(&sock, N, 10);
            to_a_sent.send(()).unwrap();
            dropped
                .recv_timeout(Duration::from_secs(30))
                .expect("filter dropped");
            sock.send_to(b"after-drop", dst).unwrap();
            (sock.local_addr().unwrap(), echoes)
        });

        let (r, n_free, n_tx, other_got, later_got) = vi_side.join().unwrap();
        let (b_addr, echoes) = b_side.join().unwrap();

        let got: Vec<Vec<u8>> = r.datagrams.iter().map(|(_, p)| p.clone()).collect();
        assert_eq!(got.len(), N, "datagrams at the VI");
        assert_eq!(
            got, sent,
            "the VI gets exactly the datagrams sent, in order, intact"
        );
        assert!(r
            .datagrams
            .iter()
            .all(|(src, _)| std::net::SocketAddr::V4(*src) == b_addr));
        assert_eq!((r.discards, r.no_desc, r.other), (0, 0, 0));
        assert_eq!(
            echoes, sent,
            "every echo from the VI's TX ring reached B's kernel socket"
        );
        assert_eq!(r.tx_done.len(), N, "one TX completion per echo");
        assert_eq!(n_free, n_tx, "every TX buffer came back");
        let want_other: Vec<Vec<u8>> = (0..M).map(|i| format!("kernel-{i}").into_bytes()).collect();
        assert_eq!(
            other_got, want_other,
            "unfiltered traffic stays with the kernel"
        );
        assert_eq!(
            later_got,
            vec![b"after-drop".to_vec()],
            "a dropped filter gives the port back"
        );
    });
    drop(net);
}

/// Memory rules on a live VI: poll refuses a MemReg other than the one
/// whose buffers are posted, receive_init refuses mixing two MemRegs,
/// bounds are checked, and a MemReg dropped while its buffers are still
/// posted stays mapped, so frames that arrive later land in live memory.
#[test]
fn veth_memory_rules() {
    if skipped("veth_memory_rules") {
        return;
    }
    let _serial = serial();
    let net = Net::new();
    const PORT: u16 = 9500;
    let (ip_a, ip_b) = (net.ip[0], net.ip[1]);
    let (go_tx, go) = mpsc::channel::<u32>();
    let (done_tx, done) = mpsc::channel::<()>();

    let netr = &net;
    thread::scope(|s| {
        let a = in_ns(s, &netr.ns[0], move || {
            let net = netr;
            let driver = Driver::open().unwrap();
            let pd = Pd::alloc_by_name(&driver, &net.ifname[0], PdFlags::DEFAULT).unwrap();
            let vi = Vi::alloc_sized(&pd, Some(64), Some(64), ViFlags::DEFAULT).unwrap();
            assert!(vi.receive_capacity() >= 63 && vi.transmit_capacity() >= 63);
            assert!(!vi.backend().is_empty() && !vi.describe().is_empty());
            let mut m1 = MemReg::alloc(&pd, 8, BUF).unwrap();
            let mut m2 = MemReg::alloc(&pd, 8, BUF).unwrap();
            let mut evs = [Event::default(); 8];
            let einval = Some(22);

            // Bounds.
            assert_eq!(
                vi.receive_init(&m1, m1.len(), 0)
                    .unwrap_err()
                    .raw_os_error(),
                einval
            );
            assert_eq!(
                vi.transmit(&m1, m1.len() - 10, 11, 0)
                    .unwrap_err()
                    .raw_os_error(),
                einval
            );
            assert_eq!(
                vi.transmit(&m1, 0, 0, 0).unwrap_err().raw_os_error(),
                einval
            );
            assert_eq!(
                vi.poll(&mut m1, &mut evs[..1]).unwrap_err().raw_os_error(),
                einval
            );

            for i in 0..4 {
                vi.receive_init(&m1, m1.buf_offset(i), i as u32).unwrap();
            }
            vi.receive_push();
            assert_eq!(vi.receive_fill_level(), 4);
            // Buffers of m1 are posted: m2 can neither be posted nor polled.
            assert_eq!(
                vi.receive_init(&m2, 0, 9).unwrap_err().raw_os_error(),
                einval
            );
            assert_eq!(
                vi.poll(&mut m2, &mut evs).unwrap_err().raw_os_error(),
                einval
            );
            assert_eq!(vi.poll(&mut m1, &mut evs).unwrap(), 0);
            // After a flush nothing is posted, and m2 may take over.
            vi.flush().unwrap();
            assert_eq!(vi.receive_fill_level(), 0);
            vi.receive_init(&m2, m2.buf_offset(0), 100).unwrap();
            vi.receive_push();
            assert_eq!(vi.poll(&mut m2, &mut evs).unwrap(), 0);

            // A MemReg of another PD is refused.
            let lo = Pd::alloc_by_name(&driver, "lo", PdFlags::DEFAULT).unwrap();
            let m_lo = MemReg::alloc(&lo, 1, BUF).unwrap();
            assert_eq!(
                vi.transmit(&m_lo, 0, 60, 0).unwrap_err().raw_os_error(),
                einval
            );
            drop(m_lo);
            drop(lo);

            // A wait with nothing to come times out.
            let t = Instant::now();
            let e = vi.wait(Some(Duration::from_millis(30))).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert!(t.elapsed() >= Duration::from_millis(25));

            // Drop m2 with its buffer still posted, then let a frame come.
            let _f = vi
                .add_filter(&FilterSpec::udp_local(ip_a, PORT).unwrap())
                .unwrap();
            drop(m2);
            go_tx.send(1).unwrap();
            vi.wait(Some(Duration::from_secs(5))).unwrap();
            let end = Instant::now() + Duration::from_secs(5);
            let mut got = None;
            while got.is_none() && Instant::now() < end {
                // SAFETY: the only posted buffer is in m2's memory, which
                // nothing in Rust can reach any more.
                let n = unsafe { vi.poll_unchecked(&mut evs) }.unwrap();
                got = evs[..n].iter().find_map(|e| match *e {
                    Event::Rx { id, len, .. } => Some((id, len)),
                    _ => None,
                });
            }
            let (id, len) = got.expect("the datagram reached the VI");
            assert_eq!(id, 100);
            assert_eq!(len, udp::HDRS_LEN + 4);
            // Nothing is posted now: any MemReg may be polled again.
            assert_eq!(vi.poll(&mut m1, &mut evs).unwrap(), 0);
            done_tx.send(()).unwrap();
        });
        let b = in_ns(s, &netr.ns[1], move || {
            go.recv_timeout(Duration::from_secs(15)).expect("A ready");
            let sock = kernel_socket(ip_b, 0);
            sock.send_to(b"late", SocketAddrV4::new(ip_a, PORT))
                .unwrap();
            done.recv_timeout(Duration::from_secs(15)).expect("A done");
        });
        a.join().unwrap();
        b.join().unwrap();
    });
    drop(net);
}

/// A frame larger than one receive buffer: several `Rx` events, `sop` on
/// the first, `cont` on all but the last, `len` counting the frame so far
/// (the last one: the whole frame), and the buffers, read in order, hold
/// the frame.
#[test]
fn veth_frame_over_several_buffers() {
    if skipped("veth_frame_over_several_buffers") {
        return;
    }
    let _serial = serial();
    let net = Net::new();
    const PORT: u16 = 9600;
    const BUF_LEN: usize = 512;
    let (ip_a, ip_b) = (net.ip[0], net.ip[1]);
    let payload: Vec<u8> = (0..1200u32).map(|i| (i * 7 + 3) as u8).collect();
    let (go_tx, go) = mpsc::channel::<()>();
    let netr = &net;
    let pay = &payload;

    thread::scope(|s| {
        let a = in_ns(s, &netr.ns[0], move || {
            let net = netr;
            let driver = Driver::open().unwrap();
            let pd = Pd::alloc_by_name(&driver, &net.ifname[0], PdFlags::DEFAULT).unwrap();
            let vi = Vi::alloc(&pd, ViFlags::DEFAULT).unwrap();
            vi.set_receive_buffer_len(BUF_LEN as u32);
            assert_eq!(vi.receive_buffer_len(), BUF_LEN);
            let mut mem = MemReg::alloc(&pd, 8, BUF).unwrap();
            for i in 0..8 {
                vi.receive_init(&mem, mem.buf_offset(i), 10 + i as u32)
                    .unwrap();
            }
            vi.receive_push();
            let _f = vi
                .add_filter(&FilterSpec::udp_local(ip_a, PORT).unwrap())
                .unwrap();
            go_tx.send(()).unwrap();

            let mut evs = [Event::default(); 8];
            let mut rx = Vec::new();
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end && !matches!(rx.last(), Some(Event::Rx { cont: false, .. }))
            {
                let n = vi.poll(&mut mem, &mut evs).unwrap();
                rx.extend_from_slice(&evs[..n]);
            }
            let prefix = vi.receive_prefix_len();
            let mut frame = Vec::new();
            let mut so_far = 0;
            for (k, ev) in rx.iter().enumerate() {
                let Event::Rx { id, len, sop, cont } = *ev else {
                    panic!("unexpected event {ev:?}");
                };
                assert_eq!(id, 10 + k as u32, "buffers filled in posting order");
                assert_eq!(sop, k == 0);
                assert_eq!(cont, k + 1 < rx.len());
                let start = if k == 0 { prefix } else { 0 };
                let in_buf = len - so_far;
                assert!(
                    in_buf <= BUF_LEN,
                    "event {k}: {in_buf} bytes in a {BUF_LEN}-byte buffer"
                );
                frame.extend_from_slice(&mem.buf((id - 10) as usize)[start..in_buf]);
                so_far = len;
            }
            (rx.len(), so_far, frame)
        });
        let b = in_ns(s, &netr.ns[1], move || {
            go.recv_timeout(Duration::from_secs(15)).expect("A ready");
            let sock = kernel_socket(ip_b, 0);
            sock.send_to(pay, SocketAddrV4::new(ip_a, PORT)).unwrap();
        });
        b.join().unwrap();
        let (n_events, total, frame) = a.join().unwrap();
        let want_len = udp::HDRS_LEN + pay.len();
        assert_eq!(n_events, want_len.div_ceil(BUF_LEN), "one event per buffer");
        assert_eq!(total, want_len, "the last event's len is the whole frame");
        let d = udp::parse(&frame).expect("the reassembled frame is a datagram");
        assert_eq!(d.payload, &pay[..]);
        assert!(d.checksums_ok());
    });
    drop(net);
}
