//! The report rendered as Markdown: run facts, one table row per scenario
//! and load point (latencies in ms), saturation, stage costs, PostgreSQL
//! against SQLite, open-streams memory, the target checks, errors and
//! method notes.

use std::fmt::Write as _;

use crate::report::{Latency, Report, Row, Verdict};

fn ms(us: f64) -> String {
    format!("{:.3}", us / 1000.0)
}

fn signed_ms(us: f64) -> String {
    format!("{:+.3}", us / 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The report as Markdown.
pub fn render(r: &Report) -> String {
    let mut md = String::new();
    let m = &r.machine;
    let _ = writeln!(md, "# modelgate load harness\n");
    let _ = writeln!(
        md,
        "- date: {}\n- command: `{}`\n- machine: {} CPUs ({}), {:.1} GiB RAM; gateway, mock and load generator share it, nothing pinned\n- load average (1, 5, 15 min): {} at start, {} at end\n- CPU time: /proc/PID/stat ticks at {} Hz{}",
        r.date,
        r.command,
        m.cpus,
        m.cpu_model,
        m.mem_total_kib as f64 / 1024.0 / 1024.0,
        m.load_at_start,
        m.load_at_end,
        m.clock_ticks,
        if m.clock_ticks_assumed {
            " (assumed)"
        } else {
            ""
        },
    );
    for s in &r.scenarios {
        if let Some(why) = &s.skipped {
            let _ = writeln!(md, "- **{} skipped**: {why}", s.name);
        }
    }
    let rounds = r.round_rows.iter().map(|x| x.round).max().unwrap_or(1);
    let rounds_text = if rounds > 1 {
        format!(
            "Each number is the median of {rounds} rounds (ok and errors: totals); added latency is the median of each round's difference.\n"
        )
    } else {
        String::new()
    };
    // The database server's CPU only when a store ran in PostgreSQL.
    let server_cpu = r.rows.iter().any(|x| x.server_cpu_s_per_1k.is_some());
    let (server_head, server_rule) = if server_cpu {
        (" PostgreSQL server CPU s / 1k req |", "--:|")
    } else {
        ("", "")
    };
    let _ = writeln!(
        md,
        "\n## Latency (ms) and throughput\n\n\
         {rounds_text}Added = this scenario minus its baseline at the same load point, same run.\n\n\
         | scenario | load | ok | errors | p50 | p90 | p99 | p99.9 | mean | req/s | +p50 | +p90 | +p99 | +p99.9 | CPU s / 1k req | RSS MiB |{server_head}\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|{server_rule}"
    );
    for row in &r.rows {
        let added =
            |f: fn(&Latency) -> f64| row.added.as_ref().map_or("".into(), |a| signed_ms(f(a)));
        let mut errors = row.errors.to_string();
        if row.errors > 0 {
            errors = format!("**{errors}** ⚠");
        }
        if row.dropped > 0 {
            let _ = write!(errors, " ({} not sent)", row.dropped);
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            row.scenario,
            row.load,
            row.ok,
            errors,
            ms(row.latency.p50_us),
            ms(row.latency.p90_us),
            ms(row.latency.p99_us),
            ms(row.latency.p999_us),
            ms(row.latency.mean_us),
            row.throughput_rps,
            added(|a| a.p50_us),
            added(|a| a.p90_us),
            added(|a| a.p99_us),
            added(|a| a.p999_us),
            row.cpu_s_per_1k
                .map_or(String::new(), |c| format!("{c:.3}")),
            row.memory.map_or(String::new(), |m| mib(m.rss_kib)),
        );
        if server_cpu {
            md.pop();
            let _ = writeln!(
                md,
                " {} |",
                row.server_cpu_s_per_1k
                    .map_or(String::new(), |c| format!("{c:.3}"))
            );
        }
    }
    if rounds > 1 {
        let heads: Vec<String> = (1..=rounds).map(|i| format!("round {i}")).collect();
        let _ = writeln!(
            md,
            "\n## Added p99 (ms) in each round\n\n| scenario | load | {} |\n|---|---|{}",
            heads.join(" | "),
            "--:|".repeat(rounds)
        );
        for row in r.rows.iter().filter(|x| !x.added_p99_rounds.is_empty()) {
            let each: Vec<String> = row
                .added_p99_rounds
                .iter()
                .map(|us| signed_ms(*us))
                .collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                row.scenario,
                row.load,
                each.join(" | ")
            );
        }
    }
    let _ = writeln!(
        md,
        "\n## Throughput at saturation (best closed-loop level)\n\n| scenario | req/s | at | vs baseline | baseline |\n|---|--:|---|--:|---|"
    );
    for s in &r.saturation {
        let ratio = s.vs_baseline.map_or(String::new(), |v| {
            if v < 0.1 {
                format!("{v:.4}")
            } else {
                format!("{v:.2}")
            }
        });
        let _ = writeln!(
            md,
            "| {} | {:.0} | {} | {ratio} | {} |",
            s.scenario,
            s.throughput_rps,
            s.at,
            s.baseline.as_deref().unwrap_or("")
        );
    }
    if !r.stage_costs.is_empty() {
        let _ = writeln!(
            md,
            "\n## What each stage costs\n\n\
             Full path (`gateway`) minus the scenario without the stage, same run. CPU: gateway process at c=16.\n\n\
             | stage | without it | CPU µs / req | p50 c=1 (ms) | p99 c=16 (ms) | throughput with / without |\n\
             |---|---|--:|--:|--:|--:|"
        );
        for c in &r.stage_costs {
            let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or(String::new(), f);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                c.stage,
                c.without,
                opt(c.cpu_us_per_request, |v| format!("{v:+.1}")),
                opt(c.p50_c1_us, signed_ms),
                opt(c.p99_c16_us, signed_ms),
                opt(c.throughput_ratio, |v| format!("{v:.2}")),
            );
        }
    }
    store_comparison(&mut md, r);
    if let Some(s) = &r.streams {
        let _ = writeln!(
            md,
            "\n## Gateway memory with open streams ({})\n\n| streams | opened | errors | VmRSS idle MiB | VmRSS open MiB | VmHWM MiB |\n|--:|--:|--:|--:|--:|--:|\n| {} | {} | {} | {} | {} | {} |",
            s.scenario,
            s.streams,
            s.opened,
            s.errors,
            mib(s.idle.rss_kib),
            mib(s.open.rss_kib),
            mib(s.open.hwm_kib)
        );
    }
    let _ = writeln!(
        md,
        "\n## Targets\n\n| target | measured | verdict |\n|---|---|---|"
    );
    for t in &r.targets {
        let v = match t.verdict {
            Verdict::Pass => "PASS",
            Verdict::Miss => "**MISS**",
            Verdict::NotRun => "not run",
        };
        let _ = writeln!(md, "| {} | {} | {v} |", t.target, t.measured);
    }
    let errors: Vec<&Row> = r
        .rows
        .iter()
        .filter(|x| !x.error_samples.is_empty())
        .collect();
    if !errors.is_empty()
        || r.streams
            .as_ref()
            .is_some_and(|s| !s.error_samples.is_empty())
    {
        let _ = writeln!(md, "\n## Errors (first few per load point)\n");
        for row in errors {
            for e in &row.error_samples {
                let _ = writeln!(
                    md,
                    "- {} {}: `{}`",
                    row.scenario,
                    row.load,
                    e.replace('`', "'")
                );
            }
        }
        for e in r.streams.iter().flat_map(|s| &s.error_samples) {
            let _ = writeln!(md, "- streams: `{}`", e.replace('`', "'"));
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(md, "\n## Method\n");
        for n in &r.notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}

/// The PostgreSQL scenarios beside their SQLite twins.
fn store_comparison(md: &mut String, r: &Report) {
    if r.store_comparison.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## PostgreSQL store against SQLite\n\n\
         The same scenario with `[store]` a fresh SQLite file or a fresh database of a local durable PostgreSQL cluster (TLS), same run. \
         Added p99 against the latency baseline; CPU at c=16: the gateway process, and the PostgreSQL server (postmaster and its processes), which shares the CPUs (SQLite runs inside the gateway).\n\n\
         | scenario | store | +p99 c=1 (ms) | +p99 c=16 (ms) | req/s at saturation | vs SQLite | gateway CPU µs / req | server CPU µs / req | total CPU µs / req |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|"
    );
    for c in &r.store_comparison {
        for (side, store, ratio) in [
            (&c.sqlite, "SQLite", None),
            (&c.postgres, "PostgreSQL", c.throughput_ratio),
        ] {
            let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or(String::new(), f);
            let total = side
                .gateway_cpu_us_per_request
                .map(|g| g + side.server_cpu_us_per_request.unwrap_or(0.0));
            let _ = writeln!(
                md,
                "| {} | {store} | {} | {} | {} | {} | {} | {} | {} |",
                side.scenario,
                opt(side.added_p99_c1_us, signed_ms),
                opt(side.added_p99_c16_us, signed_ms),
                opt(side.throughput_rps, |v| format!("{v:.0}")),
                opt(ratio, |v| format!("{v:.2}")),
                opt(side.gateway_cpu_us_per_request, |v| format!("{v:.1}")),
                opt(side.server_cpu_us_per_request, |v| format!("{v:.1}")),
                opt(total, |v| format!("{v:.1}")),
            );
        }
    }
}
