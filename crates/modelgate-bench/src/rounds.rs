//! Rounds: every scenario runs `--rounds` times in turn, and the summary
//! row of a scenario and load point takes the median of each number over
//! its rounds; added latency is the median of each round's own difference
//! against the baseline of that round. A burst of other work on the machine
//! then spoils one round, not the verdict.

use crate::report::{Latency, Row};

/// Error messages kept per summary row.
const SAMPLES: usize = 5;

/// The median (mean of the middle two for an even count); `None` when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn median_latency(all: &[Latency]) -> Option<Latency> {
    let m = |f: fn(&Latency) -> f64| median(all.iter().map(f));
    Some(Latency {
        p50_us: m(|l| l.p50_us)?,
        p90_us: m(|l| l.p90_us)?,
        p99_us: m(|l| l.p99_us)?,
        p999_us: m(|l| l.p999_us)?,
        mean_us: m(|l| l.mean_us)?,
        max_us: m(|l| l.max_us)?,
    })
}

/// One summary row (round 0) per scenario and load point, in the order
/// they first appear: medians of latency, added latency, throughput and
/// CPU (gateway and database server); sums of counts; the largest memory.
pub fn summarize(rows: &[Row]) -> Vec<Row> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.scenario.as_str(), r.load.as_str())) {
            keys.push((&r.scenario, &r.load));
        }
    }
    keys.into_iter()
        .filter_map(|(scenario, load)| {
            let group: Vec<&Row> = rows
                .iter()
                .filter(|r| r.scenario == scenario && r.load == load)
                .collect();
            let first = group.first()?;
            let latencies: Vec<Latency> = group.iter().map(|r| r.latency).collect();
            let added: Vec<Latency> = group.iter().filter_map(|r| r.added).collect();
            Some(Row {
                scenario: scenario.to_owned(),
                load: load.to_owned(),
                round: 0,
                concurrency: first.concurrency,
                rate: first.rate,
                ok: group.iter().map(|r| r.ok).sum(),
                errors: group.iter().map(|r| r.errors).sum(),
                dropped: group.iter().map(|r| r.dropped).sum(),
                elapsed_s: group.iter().map(|r| r.elapsed_s).sum(),
                latency: median_latency(&latencies)?,
                throughput_rps: median(group.iter().map(|r| r.throughput_rps))?,
                added: median_latency(&added),
                added_p99_rounds: added.iter().map(|a| a.p99_us).collect(),
                cpu_s_per_1k: median(group.iter().filter_map(|r| r.cpu_s_per_1k)),
                server_cpu_s_per_1k: median(group.iter().filter_map(|r| r.server_cpu_s_per_1k)),
                memory: group.iter().filter_map(|r| r.memory).reduce(|a, b| {
                    crate::process::Memory {
                        rss_kib: a.rss_kib.max(b.rss_kib),
                        hwm_kib: a.hwm_kib.max(b.hwm_kib),
                    }
                }),
                error_samples: group
                    .iter()
                    .flat_map(|r| r.error_samples.iter().cloned())
                    .take(SAMPLES)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Memory;

    #[test]
    fn medians() {
        assert_eq!(median([]), None);
        assert_eq!(median([3.0]), Some(3.0));
        assert_eq!(median([5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    fn row(scenario: &str, round: usize, p99: f64, added_p99: Option<f64>) -> Row {
        let lat = |p99| Latency {
            p99_us: p99,
            p50_us: p99 / 2.0,
            ..Latency::default()
        };
        Row {
            scenario: scenario.into(),
            load: "c=16".into(),
            round,
            concurrency: Some(16),
            ok: 100,
            errors: u64::from(round == 2),
            latency: lat(p99),
            throughput_rps: 1000.0 * round as f64,
            added: added_p99.map(lat),
            cpu_s_per_1k: Some(0.1 * round as f64),
            memory: Some(Memory {
                rss_kib: 10 * round as u64,
                hwm_kib: 20,
            }),
            error_samples: if round == 2 {
                vec!["boom".into()]
            } else {
                vec![]
            },
            ..Row::default()
        }
    }

    #[test]
    fn one_spoilt_round_does_not_decide() {
        // Round 2's baseline tail was hit by other work: the gateway's added
        // p99 came out negative there.
        let rows = vec![
            row("direct", 1, 1200.0, None),
            row("gateway", 1, 4300.0, Some(3100.0)),
            row("direct", 2, 3200.0, None),
            row("gateway", 2, 3190.0, Some(-10.0)),
            row("direct", 3, 1200.0, None),
            row("gateway", 3, 2400.0, Some(1200.0)),
        ];
        let s = summarize(&rows);
        assert_eq!(s.len(), 2);
        let (d, g) = (&s[0], &s[1]);
        assert_eq!(
            (d.scenario.as_str(), g.scenario.as_str()),
            ("direct", "gateway")
        );
        assert_eq!(d.latency.p99_us, 1200.0);
        assert_eq!(d.added, None);
        assert!(d.added_p99_rounds.is_empty());
        assert_eq!(g.added.unwrap().p99_us, 1200.0);
        assert_eq!(g.added_p99_rounds, vec![3100.0, -10.0, 1200.0]);
        assert_eq!((g.round, g.ok, g.errors), (0, 300, 1));
        assert_eq!(g.throughput_rps, 2000.0);
        assert!((g.cpu_s_per_1k.unwrap() - 0.2).abs() < 1e-9);
        assert_eq!(g.memory.unwrap().rss_kib, 30);
        assert_eq!(g.error_samples, vec!["boom".to_owned()]);
    }
}
