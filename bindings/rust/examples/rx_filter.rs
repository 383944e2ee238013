// SPDX-License-Identifier: BSD-2-Clause
//
// rx_filter: the receive flow of the ef_vi user guide, in Rust. Receives
// COUNT UDP datagrams sent to IP:PORT on an interface and prints each one;
// with -e it also answers each datagram with an echo from its own TX ring.
//
// The flow, in the order an ef_vi program does it (C names in brackets):
//   1. open the driver                 [ef_driver_open]
//   2. a protection domain on the interface   [ef_pd_alloc_by_name]
//   3. a virtual interface             [ef_vi_alloc_from_pd]
//   4. page-aligned locked memory, registered with the PD
//                                      [mmap + ef_memreg_alloc]
//   5. post receive buffers            [ef_vi_receive_init + _push]
//   6. a filter for the UDP port       [ef_filter_spec_set_ip4_local +
//                                       ef_vi_filter_add]
//   7. poll the event queue            [ef_eventq_poll]; for each RX event
//      process the packet and re-post its buffer; TX events return echo
//      buffers [ef_vi_transmit_unbundle]
// Everything is released in reverse order when the objects go out of scope.
//
// Output: '#' header lines, one line per datagram
//   "<n>\t<source ip:port>\t<payload length>\t<payload, escaped>"
// and a summary line "received N datagrams, D discards, E no-desc".

mod common;

use anyvi::{udp, Driver, Event, FilterSpec, MemReg, Pd, PdFlags, Vi, ViFlags};
use common::{ctx, getopt, parse_ip, parse_num};
use std::net::Ipv4Addr;
use std::process::exit;
use std::time::{Duration, Instant};

const BUF_SIZE: usize = 2048; // one packet buffer
const MAX_RX_BUFS: usize = 256; // receive buffers kept posted
// Echo buffers: more than a test sends in a burst, so that an echo is
// never dropped because the kernel completes transmits late (it did, on
// a loaded 2-CPU machine, with 16).
const N_TX_BUFS: usize = 64;

struct Args {
    ifname: String,
    ip: Ipv4Addr,
    port: u16,
    count: u64,
    timeout: Duration,
    echo: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: rx_filter [options] <interface> <ip> <port>\n\
         \n\
         Receive UDP datagrams sent to ip:port through an ef_vi VI and print\n\
         them (ip 0.0.0.0: any local address).\n\
         \n\
         options:\n  \
           -n COUNT  datagrams to receive, then exit (default 10)\n  \
           -t SECS   give up after this long (default 30; 0: never)\n  \
           -e        answer each datagram with an echo from the VI\n  \
           -h        this help"
    );
    exit(2)
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (opts, rest) = getopt(&argv, "n:t:eh").unwrap_or_else(|e| {
        eprintln!("rx_filter: {e}");
        usage()
    });
    let mut a = Args {
        ifname: String::new(),
        ip: Ipv4Addr::UNSPECIFIED,
        port: 0,
        count: 10,
        timeout: Duration::from_secs(30),
        echo: false,
    };
    for (o, v) in opts {
        match o {
            'n' => a.count = parse_num(&v, 1, u64::MAX).unwrap_or_else(|| usage()),
            't' => {
                a.timeout =
                    Duration::from_secs(parse_num(&v, 0, 1 << 32).unwrap_or_else(|| usage()))
            }
            'e' => a.echo = true,
            _ => usage(),
        }
    }
    if rest.len() != 3 {
        usage();
    }
    a.ifname = rest[0].clone();
    a.ip = parse_ip(&rest[1]).unwrap_or_else(|| usage());
    a.port = parse_num(&rest[2], 1, 65535).unwrap_or_else(|| usage()) as u16;
    a
}

fn main() {
    let args = parse_args();
    common::install_signals();
    if let Err(e) = run(&args) {
        eprintln!("rx_filter: {e}");
        exit(1);
    }
}

#[derive(Default)]
struct Counts {
    received: u64,
    discards: u64,
    no_desc: u64,
    not_udp: u64,
    echoed: u64,
    echo_dropped: u64,
    tx_errors: u64,
    multi_buffer: u64,
}

fn run(args: &Args) -> Result<(), String> {
    // 1-3: driver handle, protection domain, virtual interface.
    let driver = Driver::open().map_err(|e| ctx("ef_driver_open", e))?;
    let pd = Pd::alloc_by_name(&driver, &args.ifname, PdFlags::DEFAULT)
        .map_err(|e| ctx(&format!("ef_pd_alloc_by_name({})", args.ifname), e))?;
    let vi = Vi::alloc(&pd, ViFlags::DEFAULT).map_err(|e| ctx("ef_vi_alloc_from_pd", e))?;

    // 4: packet memory. Buffers 0..n_rx receive, the rest hold echoes.
    let n_rx = vi.receive_capacity().min(MAX_RX_BUFS);
    let mut mem =
        MemReg::alloc(&pd, n_rx + N_TX_BUFS, BUF_SIZE).map_err(|e| ctx("ef_memreg_alloc", e))?;
    let mut tx_free: Vec<u32> = (n_rx as u32..(n_rx + N_TX_BUFS) as u32).collect();

    // 5: post every receive buffer; its request id is its index.
    for i in 0..n_rx {
        vi.receive_init(&mem, mem.buf_offset(i), i as u32)
            .map_err(|e| ctx("ef_vi_receive_init", e))?;
    }
    vi.receive_push();

    // 6: steer ip:port to this VI (back to the kernel when _filter drops).
    let spec = FilterSpec::udp_local(args.ip, args.port)
        .map_err(|e| ctx("ef_filter_spec_set_ip4_local", e))?;
    let _filter = vi
        .add_filter(&spec)
        .map_err(|e| ctx("ef_vi_filter_add", e))?;
    let mac = vi.mac().map_err(|e| ctx("ef_vi_get_mac", e))?;

    println!("# ef_vi_version_str: {}", anyvi::version());
    println!("# interface: {}", args.ifname);
    println!("# backend: {}", vi.describe());
    println!("# filter: udp:{}:{}", args.ip, args.port);
    println!("# rx buffers: {n_rx}");

    // 7: the event loop.
    let prefix = vi.receive_prefix_len();
    let mut evs = [Event::default(); 32];
    let mut c = Counts::default();
    let deadline = (!args.timeout.is_zero()).then(|| Instant::now() + args.timeout);
    while c.received < args.count {
        if common::stopped() {
            return Err(format!("interrupted after {} datagrams", c.received));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(format!(
                "timeout: received {} of {} datagrams",
                c.received, args.count
            ));
        }
        let n = vi
            .poll(&mut mem, &mut evs)
            .map_err(|e| ctx("ef_eventq_poll", e))?;
        if n == 0 {
            // Nothing to do: sleep until the VI has news (ef_eventq_wait),
            // briefly, so signals and the deadline are seen.
            let _ = vi.wait(Some(Duration::from_millis(100)));
            continue;
        }
        let mut reposted = false;
        for ev in &evs[..n] {
            match *ev {
                Event::Rx { id, len, sop, cont } => {
                    let i = id as usize;
                    if i >= n_rx {
                        continue; // not one of our receive buffers
                    }
                    if !sop || cont {
                        // Part of a frame larger than one buffer (jumbo
                        // MTU): not a datagram this example reads.
                        c.multi_buffer += u64::from(sop);
                    } else {
                        on_datagram(
                            &vi,
                            &mut mem,
                            i,
                            prefix,
                            len,
                            mac,
                            &mut tx_free,
                            args,
                            &mut c,
                        )?;
                    }
                    // The frame is processed: the buffer goes back.
                    vi.receive_init(&mem, mem.buf_offset(i), id)
                        .map_err(|e| ctx("ef_vi_receive_init", e))?;
                    reposted = true;
                }
                Event::RxDiscard { id, .. } => {
                    c.discards += 1;
                    if (id as usize) < n_rx {
                        vi.receive_init(&mem, mem.buf_offset(id as usize), id)
                            .map_err(|e| ctx("ef_vi_receive_init", e))?;
                        reposted = true;
                    }
                }
                Event::Tx { ref ids } => tx_free.extend_from_slice(ids),
                Event::TxError { ref ids, .. } => {
                    c.tx_errors += ids.len() as u64;
                    tx_free.extend_from_slice(ids);
                }
                Event::RxNoDescTrunc => c.no_desc += 1,
                _ => {}
            }
        }
        if reposted {
            vi.receive_push();
        }
    }
    // Let the last echoes leave before the VI goes.
    let until = Instant::now() + Duration::from_secs(1);
    while vi.transmit_fill_level() > 0 && Instant::now() < until {
        let n = vi
            .poll(&mut mem, &mut evs)
            .map_err(|e| ctx("ef_eventq_poll", e))?;
        for ev in &evs[..n] {
            if let Event::Tx { ref ids } | Event::TxError { ref ids, .. } = *ev {
                tx_free.extend_from_slice(ids);
            }
        }
    }
    println!(
        "received {} datagrams, {} discards, {} no-desc",
        c.received, c.discards, c.no_desc
    );
    if args.echo {
        println!(
            "echoed {} datagrams, {} not sent",
            c.echoed,
            c.echo_dropped + c.tx_errors
        );
    }
    if c.not_udp > 0 {
        eprintln!("# frames that were not UDP/IPv4: {}", c.not_udp);
    }
    if c.multi_buffer > 0 {
        eprintln!(
            "# frames larger than one buffer, ignored: {}",
            c.multi_buffer
        );
    }
    Ok(())
}

/// Print the datagram in receive buffer `i` and, with -e, echo it.
#[allow(clippy::too_many_arguments)]
fn on_datagram(
    vi: &Vi<'_>,
    mem: &mut MemReg<'_>,
    i: usize,
    prefix: usize,
    len: usize,
    mac: [u8; 6],
    tx_free: &mut Vec<u32>,
    args: &Args,
    c: &mut Counts,
) -> Result<(), String> {
    // A whole frame in one buffer: len <= buffer size.
    let frame = &mem.buf(i)[prefix..len.clamp(prefix, mem.buf_size())];
    let Some(d) = udp::parse(frame) else {
        c.not_udp += 1;
        return Ok(());
    };
    c.received += 1;
    println!(
        "{}\t{}\t{}\t{}",
        c.received,
        d.src,
        d.payload.len(),
        d.payload.escape_ascii()
    );
    if !args.echo {
        return Ok(());
    }
    // The reply: addresses swapped, the same payload.
    let flow = udp::UdpFlow {
        dmac: d.smac,
        smac: mac,
        saddr: *d.dst.ip(),
        daddr: *d.src.ip(),
        sport: d.dst.port(),
        dport: d.src.port(),
    };
    let paylen = d.payload.len();
    let pay_off = mem.buf_offset(i) + (d.payload.as_ptr() as usize - mem.buf(i).as_ptr() as usize);
    let Some(t) = tx_free.pop() else {
        c.echo_dropped += 1; // every echo buffer is in flight
        return Ok(());
    };
    let t_off = mem.buf_offset(t as usize);
    if udp::HDRS_LEN + paylen > mem.buf_size() {
        tx_free.push(t);
        c.echo_dropped += 1;
        return Ok(());
    }
    mem.as_mut_slice()
        .copy_within(pay_off..pay_off + paylen, t_off + udp::HDRS_LEN);
    let flen =
        udp::write_headers(mem.buf_mut(t as usize), &flow, paylen, 0).expect("fits: checked above");
    match vi.transmit(mem, t_off, flen, t) {
        Ok(()) => c.echoed += 1,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            tx_free.push(t);
            c.echo_dropped += 1;
        }
        Err(e) => return Err(ctx("ef_vi_transmit", e)),
    }
    Ok(())
}
