//! The PostgreSQL store against SQLite: each `*-pg` scenario beside its
//! SQLite twin (the same configuration, credential and request; only
//! `[store]` differs), at the same load points of the same run (summary
//! rows: medians over rounds). CPU counts the gateway process and, for
//! PostgreSQL, the database server too: it runs on the same CPUs, where
//! SQLite runs inside the gateway.

use crate::report::{Row, Saturation, StoreComparison, StoreSide};

/// The load point of the CPU numbers.
const CPU_AT: &str = "c=16";

fn find<'a>(rows: &'a [Row], scenario: &str, load: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario == scenario && r.load == load && r.ok > 0)
}

fn side(rows: &[Row], saturation: &[Saturation], scenario: &str) -> StoreSide {
    let added_p99 = |load: &str| find(rows, scenario, load)?.added.map(|a| a.p99_us);
    let cpu = |f: fn(&Row) -> Option<f64>| find(rows, scenario, CPU_AT).and_then(f);
    StoreSide {
        scenario: scenario.to_owned(),
        added_p99_c1_us: added_p99("c=1"),
        added_p99_c16_us: added_p99("c=16"),
        throughput_rps: saturation
            .iter()
            .find(|s| s.scenario == scenario)
            .map(|s| s.throughput_rps),
        gateway_cpu_us_per_request: cpu(|r| r.cpu_s_per_1k.map(|c| c * 1000.0)),
        server_cpu_us_per_request: cpu(|r| r.server_cpu_s_per_1k.map(|c| c * 1000.0)),
    }
}

/// One comparison for every `(postgres, sqlite)` pair of which both ran.
pub fn store_comparison(
    rows: &[Row],
    saturation: &[Saturation],
    pairs: &[(&str, &str)],
) -> Vec<StoreComparison> {
    let ran = |name: &str| rows.iter().any(|r| r.scenario == name);
    pairs
        .iter()
        .filter(|(pg, lite)| ran(pg) && ran(lite))
        .map(|(pg, lite)| {
            let sqlite = side(rows, saturation, lite);
            let postgres = side(rows, saturation, pg);
            let throughput_ratio = postgres
                .throughput_rps
                .zip(sqlite.throughput_rps)
                .filter(|(_, s)| *s > 0.0)
                .map(|(p, s)| p / s);
            StoreComparison {
                sqlite,
                postgres,
                throughput_ratio,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Latency;

    fn row(scenario: &str, c: usize, added_p99: f64, cpu: f64, server: Option<f64>) -> Row {
        Row {
            scenario: scenario.into(),
            load: format!("c={c}"),
            concurrency: Some(c),
            ok: 100,
            added: Some(Latency {
                p99_us: added_p99,
                ..Latency::default()
            }),
            cpu_s_per_1k: Some(cpu),
            server_cpu_s_per_1k: server,
            ..Row::default()
        }
    }

    fn sat(scenario: &str, rps: f64) -> Saturation {
        Saturation {
            scenario: scenario.into(),
            throughput_rps: rps,
            at: "c=16".into(),
            vs_baseline: None,
            baseline: None,
        }
    }

    #[test]
    fn postgres_beside_sqlite() {
        let rows = vec![
            row("gateway", 1, 300.0, 0.09, None),
            row("gateway", 16, 900.0, 0.07, None),
            row("gateway-pg", 1, 1100.0, 0.10, Some(0.2)),
            row("gateway-pg", 16, 2500.0, 0.08, Some(0.15)),
        ];
        let saturation = vec![sat("gateway", 8000.0), sat("gateway-pg", 2000.0)];
        let c = store_comparison(
            &rows,
            &saturation,
            &[
                ("gateway-pg", "gateway"),
                ("gateway-api-key-pg", "gateway-api-key"),
            ],
        );
        assert_eq!(c.len(), 1, "a pair that did not run is left out");
        let c = &c[0];
        assert_eq!(c.sqlite.scenario, "gateway");
        assert_eq!(c.sqlite.added_p99_c1_us, Some(300.0));
        assert_eq!(c.sqlite.added_p99_c16_us, Some(900.0));
        assert_eq!(c.sqlite.server_cpu_us_per_request, None);
        assert!((c.sqlite.gateway_cpu_us_per_request.unwrap() - 70.0).abs() < 1e-9);
        assert_eq!(c.postgres.scenario, "gateway-pg");
        assert_eq!(c.postgres.added_p99_c16_us, Some(2500.0));
        assert!((c.postgres.server_cpu_us_per_request.unwrap() - 150.0).abs() < 1e-9);
        assert_eq!(c.postgres.throughput_rps, Some(2000.0));
        assert_eq!(c.throughput_ratio, Some(0.25));
    }
}
