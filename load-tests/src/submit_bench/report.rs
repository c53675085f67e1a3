//! The benchmark's tables and headline, as printed.

use std::collections::BTreeMap;

use crate::memory::Resident;

use super::climb::{Side, Step};
use super::pressure::{IdleConnections, Overload};
use super::slow_clients::{FreshClients, Rank, SlowClients, percentile};

/// The header of a step table.
pub fn step_header() -> String {
    format!(
        "{:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9}  {}",
        "offered/s",
        "ok/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "shed",
        "failed",
        "not sent",
        "% offered",
        "past knee"
    )
}

/// One step as a table row.
pub fn step_row(s: &Step) -> String {
    let f = &s.figures;
    format!(
        "{:>9.0} {:>9.0} {:>8.1} {:>9.1} {:>9.1} {:>8} {:>8} {:>8} {:>8.1}%  {}",
        f.offered,
        f.throughput,
        f.p50_ms,
        f.p99_ms,
        f.max_ms,
        f.shed,
        f.failed,
        f.not_sent,
        100.0 * f.throughput / f.offered,
        if s.past_knee { "yes" } else { "" }
    )
}

/// Prints one side's steps in order of offered rate, and its knee.
pub fn report_side(side: &Side) {
    println!();
    println!("{}:", side.call.name());
    println!("{}", step_header());
    let mut steps: Vec<&Step> = side.steps.iter().collect();
    steps.sort_by(|a, b| a.figures.offered.total_cmp(&b.figures.offered));
    for s in &steps {
        println!("{}", step_row(s));
    }
    for s in steps.iter().filter(|s| !s.failures.is_empty()) {
        println!(
            "failed at {:.0}/s: {}",
            s.figures.offered,
            failures_line(&s.failures)
        );
    }
    match side.knee_rate {
        Some(rate) => println!(
            "knee: {:.0}/s sustained; past the knee at {rate:.0}/s offered",
            side.knee
        ),
        None => println!(
            "knee not reached ({} steps, up to {:.0}/s offered): {:.0}/s is a lower bound",
            side.steps.len(),
            side.steps
                .iter()
                .map(|s| s.figures.offered)
                .fold(0.0, f64::max),
            side.knee
        ),
    }
}

/// The headline: the durable-submit knee as a share of the trivial handler's knee.
pub fn headline(submit: &Side, check: &Side) -> String {
    let mut line = if check.knee > 0.0 {
        format!(
            "durable submit knee {:.0}/s = {:.0}% of the trivial handler's knee {:.0}/s",
            submit.knee,
            100.0 * submit.knee / check.knee,
            check.knee
        )
    } else {
        "the trivial handler sustained no rate: no ratio".to_string()
    };
    for side in [submit, check] {
        if side.knee_rate.is_none() {
            line.push_str(&format!(
                " ({} knee not reached: raise --max-rate or --max-steps)",
                side.call.name()
            ));
        }
    }
    line
}

/// The JSON side against gRPC: the share of gRPC's durable-submit knee that JSON over HTTP/1.1
/// sustains, and both p99s there.
pub fn json_headline(json: &Side, grpc: &Side) -> String {
    let mut line = if grpc.knee > 0.0 {
        format!(
            "durable submit as JSON over HTTP/1.1: knee {:.0}/s = {:.0}% of the same over gRPC ({:.0}/s)",
            json.knee,
            100.0 * json.knee / grpc.knee,
            grpc.knee
        )
    } else {
        "durable submit over gRPC sustained no rate: no ratio".to_string()
    };
    if json.knee_rate.is_none() {
        line.push_str(" (JSON knee not reached: raise --max-rate or --max-steps)");
    }
    line
}

fn mib(r: Option<Resident>, f: fn(&Resident) -> f64) -> String {
    r.map(|r| format!("{:.1}", f(&r)))
        .unwrap_or_else(|| "-".into())
}

/// Prints the memory table: idle connections, then the overload (either may be left out).
pub fn report_memory(pid: u32, idle: Option<&IdleConnections>, over: Option<&Overload>, knee: f64) {
    println!();
    println!("memory of the scheduler process (pid {pid}, from /proc/{pid}/status), MiB:");
    println!("{:<56} {:>9} {:>12}", "", "VmRSS", "VmHWM (peak)");
    let row = |label: &str, r: Option<Resident>| {
        println!(
            "{label:<56} {:>9} {:>12}",
            mib(r, Resident::rss_mib),
            mib(r, Resident::peak_mib)
        )
    };
    if let Some(idle) = idle {
        row("before the idle connections", idle.before);
        let each = idle
            .per_connection_kib()
            .map(|kib| format!(", {kib:.1} KiB each"))
            .unwrap_or_default();
        row(
            &format!("with {} idle TLS connections open{each}", idle.opened),
            idle.with,
        );
        row("after they closed", idle.after);
    }
    if let Some(over) = over {
        row("before the overload", over.before);
        row(
            if over.peak_reset {
                "after the overload (peak: during the overload)"
            } else {
                "after the overload (peak: since the process started)"
            },
            over.after,
        );
    }
    if let Some(idle) = idle {
        println!(
            "idle connections: {} of {} opened and answered Health/Check ({} refused)",
            idle.opened, idle.asked, idle.refused
        );
    }
    if let Some(over) = over {
        report_overload(over, knee);
    }
}

fn report_overload(over: &Overload, knee: f64) {
    let f = &over.figures;
    let samples: Vec<String> = over
        .samples_kib
        .iter()
        .map(|kib| format!("{:.0}", *kib as f64 / 1024.0))
        .collect();
    println!(
        "overload: VmRSS every 0.5 s from its start, MiB: {}",
        samples.join(" ")
    );
    println!(
        "overload: {:.0}/s offered ({:.1} x the knee {knee:.0}/s) for {:.1} s over {} connections: \
         {} scheduled, {} sent, {} not sent ({} over the bound on requests outstanding, {} left \
         when the time was up); {} ok = {:.0}/s sustained, {} shed (RESOURCE_EXHAUSTED), {} failed \
         otherwise {{{}}}; ok p50 {:.1} ms, p99 {:.1} ms",
        f.offered,
        f.offered / knee.max(1.0),
        f.scheduled as f64 / f.offered,
        over.connections,
        f.scheduled,
        f.scheduled - f.not_sent,
        f.not_sent,
        f.not_sent - f.late,
        f.late,
        f.ok,
        f.throughput,
        f.shed,
        f.failed,
        failures_line(&over.failures),
        f.p50_ms,
        f.p99_ms,
    );
    if let (Some(b), Some(a)) = (over.before, over.after) {
        println!(
            "overload: peak {:.1} MiB against {:.1} MiB resident before (+{:.1} MiB)",
            a.peak_mib(),
            b.rss_mib(),
            a.peak_mib() - b.rss_mib()
        );
        if f.ok > 0 {
            println!(
                "overload: resident memory grew {:.2} KiB per submit it accepted (queued records)",
                (a.rss_kib as f64 - b.rss_kib as f64) / f.ok as f64
            );
        }
    }
}

fn ms(r: Rank) -> String {
    match r {
        Rank::Ms(v) => format!("{v:.1}"),
        Rank::Failed => "failed".into(),
        Rank::None => "-".into(),
    }
}

/// Prints a fresh client's connect time without and during the slow-client attack, their ratio,
/// and what the server did to the attacking connections.
pub fn report_slow_clients(a: &SlowClients) {
    println!();
    let from = match a.sources {
        1 => a.source.to_string(),
        n => format!("{n} addresses from {}", a.source),
    };
    println!(
        "slow clients: {} connections from {from} that send the first 11 bytes of a TLS \
         ClientHello and nothing more, each opened again 1 s after the server closes it, for \
         {:.1} s",
        a.attackers, a.seconds
    );
    println!(
        "a fresh client from the default loopback address (TCP + TLS handshake + one \
         Health/Check), one at a time, spread over {:.0} s each, ms:",
        a.over_secs
    );
    println!(
        "{:<24} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "", "samples", "median", "p90", "max", "failed"
    );
    let row = |label: &str, f: &FreshClients| {
        let failed = f.failed_ms.len();
        println!(
            "{label:<24} {:>8} {:>9} {:>9} {:>9} {:>7}",
            f.ms.len() + failed,
            ms(percentile(&f.ms, failed, 0.5)),
            ms(percentile(&f.ms, failed, 0.9)),
            ms(percentile(&f.ms, failed, 1.0)),
            failed
        )
    };
    row("without the attack", &a.before);
    row("during the attack", &a.during);
    let ratio = |p: f64| match (
        percentile(&a.during.ms, a.during.failed_ms.len(), p),
        percentile(&a.before.ms, a.before.failed_ms.len(), p),
    ) {
        (Rank::Ms(d), Rank::Ms(b)) if b > 0.0 => format!("{:.2}", d / b),
        _ => "-".into(),
    };
    println!(
        "{:<24} {:>8} {:>9} {:>9}",
        "ratio during / without",
        "",
        ratio(0.5),
        ratio(0.9)
    );
    println!(
        "attacking connections: {} opened, {} closed by the server during the attack ({} within \
         1 s of opening, {} later; the longest stayed open {:.1} s), {} still open when it ended, \
         {} connects failed",
        a.opened,
        a.closed,
        a.closed_at_once,
        a.closed - a.closed_at_once,
        a.longest_open_secs,
        a.open_at_end,
        a.refused
    );
    for (when, f) in [("without", &a.before), ("during", &a.during)] {
        let failed = f.failed_ms.len();
        if failed > 0 {
            println!(
                "slow clients: {failed} of {} fresh clients {when} the attack did not connect and \
                 answer (counted as slower than any that did), failing after {} ms (median); \
                 the first: {}",
                f.ms.len() + failed,
                ms(percentile(&f.failed_ms, 0, 0.5)),
                f.first_error.as_deref().unwrap_or("?")
            );
        }
    }
}

/// `failures` as `Code: n, ...`, or an empty string.
pub fn failures_line(failures: &BTreeMap<String, u64>) -> String {
    failures
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
