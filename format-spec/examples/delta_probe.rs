//! Probe: how small are zstd deltas of a dump's changed chunks against the previous dump?
//! `cargo run --release -p strata-format --example delta_probe BASE NEW AVG_KIB`
//! Env: DL level, WLOG, HLOG, CLOG, SLOG, MML, STRAT, LDM, NB (bases: 1 = matched, 2 = +next).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use format_spec::chunking::Chunker;
use format_spec::config::ChunkerParams;
use format_spec::crypto::SubKey;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use zstd::zstd_safe::{CCtx, CParameter, DCtx, Strategy};

fn env(k: &str) -> Option<u32> {
    std::env::var(k).ok().and_then(|v| v.parse().ok())
}

fn chunks(data: &[u8], c: &Chunker) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    for n in c.lengths(data) {
        out.push((off, n));
        off += n;
    }
    out
}

fn fp(b: &[u8]) -> [u8; 8] {
    let h = blake3::hash(&b[..b.len().min(64)]);
    h.as_bytes()[..8].try_into().unwrap()
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let base = std::fs::read(&a[1]).unwrap();
    let new = std::fs::read(&a[2]).unwrap();
    let avg: u32 = a[3].parse::<u32>().unwrap() << 10;
    let params = ChunkerParams {
        min: avg / 4,
        avg,
        max: avg * 4,
    };
    let c = Chunker::new(&SubKey([env("KEY").unwrap_or(7) as u8; 32]), params);
    let bc = chunks(&base, &c);
    let nc = chunks(&new, &c);
    let bset: HashSet<_> = bc
        .iter()
        .map(|&(o, n)| *blake3::hash(&base[o..o + n]).as_bytes())
        .collect();
    let mut fmap: HashMap<[u8; 8], usize> = HashMap::new();
    for (i, &(o, n)) in bc.iter().enumerate() {
        fmap.entry(fp(&base[o..o + n])).or_insert(i);
    }
    let level = env("DL").unwrap_or(3) as i32;
    let nb = env("NB").unwrap_or(2) as usize;
    let mut cctx = CCtx::create();
    let mut dctx = DCtx::create();
    let (mut changed, mut hits, mut dsum, mut psum, mut csum) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut td, mut tp, mut tdec) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut prev: Option<usize> = None;
    let mut dst = Vec::with_capacity(64 << 20);
    let mut out = Vec::with_capacity(64 << 20);
    for &(o, n) in &nc {
        let chunk = &new[o..o + n];
        if bset.contains(blake3::hash(chunk).as_bytes()) {
            prev = None;
            continue;
        }
        changed += 1;
        csum += n;
        let i = match fmap.get(&fp(chunk)) {
            Some(&i) => {
                hits += 1;
                i
            }
            None => prev.map(|p| p + 1).unwrap_or(0).min(bc.len() - 1),
        };
        prev = Some(i);
        let mut last = (i + nb).min(bc.len()) - 1;
        if let Some(f) = env("COVER") {
            // bases from i while they cover less than f/10 × the chunk, at most 4
            let mut covered = 0usize;
            last = i;
            for (j, &(_, bn)) in bc.iter().enumerate().skip(i).take(4) {
                last = j;
                covered += bn;
                if covered * 10 >= n * f as usize {
                    break;
                }
            }
        }
        let dict = &base[bc[i].0..bc[last].0 + bc[last].1];
        let t = Instant::now();
        cctx.reset(zstd::zstd_safe::ResetDirective::SessionAndParameters)
            .unwrap();
        cctx.set_parameter(CParameter::CompressionLevel(level))
            .unwrap();
        let need = (dict.len() + n)
            .next_power_of_two()
            .trailing_zeros()
            .max(10);
        cctx.set_parameter(CParameter::WindowLog(env("WLOG").unwrap_or(need)))
            .unwrap();
        if let Some(v) = env("HLOG") {
            cctx.set_parameter(CParameter::HashLog(v)).unwrap();
        }
        if let Some(v) = env("CLOG") {
            cctx.set_parameter(CParameter::ChainLog(v)).unwrap();
        }
        if let Some(v) = env("SLOG") {
            cctx.set_parameter(CParameter::SearchLog(v)).unwrap();
        }
        if let Some(v) = env("MML") {
            cctx.set_parameter(CParameter::MinMatch(v)).unwrap();
        }
        if let Some(v) = env("STRAT") {
            let s = [
                Strategy::ZSTD_fast,
                Strategy::ZSTD_dfast,
                Strategy::ZSTD_greedy,
                Strategy::ZSTD_lazy,
                Strategy::ZSTD_lazy2,
                Strategy::ZSTD_btlazy2,
                Strategy::ZSTD_btopt,
            ][v as usize - 1];
            cctx.set_parameter(CParameter::Strategy(s)).unwrap();
        }
        if env("LDM") == Some(1) {
            cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
                .unwrap();
        }
        cctx.ref_prefix(dict).unwrap();
        dst.clear();
        cctx.compress2(&mut dst, chunk).unwrap();
        td += t.elapsed();
        dsum += dst.len();
        let t = Instant::now();
        dctx.ref_prefix(dict).unwrap();
        out.clear();
        dctx.decompress(&mut out, &dst).unwrap();
        tdec += t.elapsed();
        assert_eq!(out, chunk);
        let t = Instant::now();
        let plain = zstd::bulk::compress(chunk, 1).unwrap().len();
        psum += plain;
        tp += t.elapsed();
        if dst.len() * 4 > plain && std::env::var("VERBOSE").is_ok() {
            println!(
                "chunk at {o} len {n}: delta {} plain {plain} (fp hit: {})",
                dst.len(),
                fmap.contains_key(&fp(chunk))
            );
        }
    }
    println!(
        "avg {}K chunks {} changed {} ({:.1} MB) fp-hits {:.1}% delta {:.3} MB plain-l1 {:.1} MB | delta {:.0} MB/s plain {:.0} MB/s decode {:.0} MB/s",
        avg >> 10,
        nc.len(),
        changed,
        csum as f64 / 1e6,
        100.0 * hits as f64 / changed.max(1) as f64,
        dsum as f64 / 1e6,
        psum as f64 / 1e6,
        csum as f64 / 1e6 / td.as_secs_f64(),
        csum as f64 / 1e6 / tp.as_secs_f64(),
        csum as f64 / 1e6 / tdec.as_secs_f64(),
    );
}
