//! `summary.md`: the report as a person reads it.
//!
//! Rendered from [`Summary`], the same structure as `summary.json`, so the page and the
//! machine-readable file cannot disagree. Waits are in human units (s, min, h).

use std::fmt::Write as _;

use super::summary::{RunSummary, Summary, WaitSummary, YARDSTICK_TOLERANCE};
use super::units::{human_ms, human_pct, human_secs};

/// The whole page.
pub(crate) fn render(s: &Summary) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; results are ignored on purpose throughout.
    let _ = writeln!(out, "# {}\n", one_line(&s.title));
    if !s.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", s.description.trim());
    }
    let _ = writeln!(out, "- Scenario: {}", one_line(&s.scenario));
    let _ = writeln!(out, "- Source: {}", one_line(&s.source));
    let _ = writeln!(out, "- Seed: {}", s.seed);
    out.push('\n');
    if !s.commands.is_empty() {
        out.push_str("Reproduce with:\n\n```sh\n");
        for c in &s.commands {
            let _ = writeln!(out, "{c}");
        }
        out.push_str("```\n\n");
    }
    runs(&mut out, &s.runs);
    yardstick(&mut out, s);
    if !s.notes.is_empty() {
        out.push_str("## Notes\n\n");
        for n in &s.notes {
            let _ = writeln!(out, "- {}", one_line(n));
        }
        out.push('\n');
    }
    if !s.plots.is_empty() {
        out.push_str("## Plots\n\n");
        for p in &s.plots {
            let _ = writeln!(
                out,
                "- {} ([SVG]({}), [PNG]({}))\n\n  ![{}]({})\n",
                one_line(&p.title),
                p.svg,
                p.png,
                cell(&p.title),
                p.png
            );
        }
    }
    out
}

/// The overview table and one table per policy.
fn runs(out: &mut String, runs: &[RunSummary]) {
    out.push_str("## Policies\n\n");
    if runs.is_empty() {
        out.push_str("No policy was run.\n\n");
        return;
    }
    out.push_str(
        "| Policy | Records | Signed | On time | Director share | Submit→lease p99 | Submit→signed p99 |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&r.policy),
            r.records,
            r.signed,
            human_pct(r.on_time_pct),
            human_pct(r.director_share_pct),
            human_ms(r.wait_to_lease.p99_ms),
            human_ms(r.wait_to_signed.p99_ms),
        );
    }
    out.push_str(
        "\nOn time is the share of all submitted records signed within their deadline; \
         director share is the share of signed records that the director signed.\n\n",
    );
    for r in runs {
        policy(out, r);
    }
}

/// One policy's table.
fn policy(out: &mut String, r: &RunSummary) {
    let _ = writeln!(out, "### {}\n", one_line(&r.policy));
    out.push_str("| Measure | Value |\n|---|---:|\n");
    let rows: [(&str, String); 11] = [
        ("Records", r.records.to_string()),
        ("Signed", r.signed.to_string()),
        ("Unfinished", r.unfinished.to_string()),
        (
            "On time",
            format!("{} ({} records)", human_pct(r.on_time_pct), r.on_time),
        ),
        (
            "On time by the legal calendar",
            format!(
                "{} ({} records)",
                human_pct(r.on_time_legal_pct),
                r.on_time_legal
            ),
        ),
        (
            "Director share",
            format!(
                "{} ({} records)",
                human_pct(r.director_share_pct),
                r.signed_by_director
            ),
        ),
        ("Escalations", r.escalations.to_string()),
        ("Lease expiries", r.lease_expiries.to_string()),
        ("Rate-limited", r.rate_limited.to_string()),
        (
            "Queued records, max / at end",
            match (r.max_pool_depth, r.final_pool_depth) {
                (Some(m), Some(f)) => format!("{m} / {f}"),
                _ => "—".to_owned(),
            },
        ),
        (
            "Waits recorded (lease / signed)",
            format!("{} / {}", r.wait_to_lease.count, r.wait_to_signed.count),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    wait_rows(out, "Submit→lease", &r.wait_to_lease, true);
    wait_rows(out, "Submit→signed", &r.wait_to_signed, false);
    let _ = writeln!(
        out,
        "\nDistributions (milliseconds): [{}]({}), [{}]({})\n",
        r.wait_to_lease.hgrm, r.wait_to_lease.hgrm, r.wait_to_signed.hgrm, r.wait_to_signed.hgrm
    );
}

/// Percentile rows of one wait.
fn wait_rows(out: &mut String, what: &str, w: &WaitSummary, with_max: bool) {
    let _ = writeln!(out, "| {what} p50 | {} |", human_ms(w.p50_ms));
    let _ = writeln!(out, "| {what} p90 | {} |", human_ms(w.p90_ms));
    let _ = writeln!(out, "| {what} p99 | {} |", human_ms(w.p99_ms));
    if with_max {
        let _ = writeln!(out, "| {what} max | {} |", human_ms(w.max_ms));
    }
}

/// Measured against Erlang C.
fn yardstick(out: &mut String, s: &Summary) {
    if s.yardstick.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Against queueing theory (Erlang C)\n\n\
         Within means measured/predicted is within ±{:.0} % of 1.\n",
        YARDSTICK_TOLERANCE * 100.0
    );
    out.push_str(
        "| Utilisation | Policy | Measured mean (CI) | Erlang C mean | Measured/predicted | Within | p50 | p90 (predicted) | p99 (predicted) |\n\
         |---:|---|---:|---:|---:|:---:|---:|---:|---:|\n",
    );
    for y in &s.yardstick {
        let p = &y.point;
        let predicted = |v: Option<f64>| {
            v.map(|v| format!(" ({})", human_secs(v)))
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "| {:.3} | {} | {} ({} – {}) | {} | {} | {} | {} | {}{} | {}{} |",
            p.utilisation,
            cell(&p.policy),
            human_secs(p.measured_mean_secs),
            human_secs(p.ci_low_secs),
            human_secs(p.ci_high_secs),
            human_secs(p.predicted_mean_secs),
            y.ratio
                .map_or_else(|| "—".to_owned(), |r| format!("{r:.3}")),
            match y.within_tolerance {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            },
            human_secs(p.p50_secs),
            human_secs(p.p90_secs),
            predicted(p.predicted_p90_secs),
            human_secs(p.p99_secs),
            predicted(p.predicted_p99_secs),
        );
    }
    out.push('\n');
}

/// Text safe inside a table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// Text on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
