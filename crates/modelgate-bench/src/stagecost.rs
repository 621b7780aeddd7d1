//! The cost of each stage of the request path: the full path (`gateway`)
//! against the scenario that switches that one stage off, at the same load
//! points of the same run (summary rows: medians over rounds).

use crate::report::{Row, Saturation, StageCost};

/// The full request path's scenario.
pub const FULL_PATH: &str = "gateway";

fn find<'a>(rows: &'a [Row], scenario: &str, load: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario == scenario && r.load == load && r.ok > 0)
}

/// Stage costs for every `(scenario, stage)` in `stages` that ran beside
/// the full path.
pub fn stage_costs(
    rows: &[Row],
    saturation: &[Saturation],
    stages: &[(&str, &str)],
) -> Vec<StageCost> {
    let sat = |name: &str| {
        saturation
            .iter()
            .find(|s| s.scenario == name)
            .map(|s| s.throughput_rps)
    };
    let mut out = Vec::new();
    for (without, stage) in stages {
        if !rows.iter().any(|r| r.scenario == *without) || sat(FULL_PATH).is_none() {
            continue;
        }
        let diff = |load: &str, f: fn(&Row) -> Option<f64>| {
            let full = f(find(rows, FULL_PATH, load)?)?;
            let other = f(find(rows, without, load)?)?;
            Some(full - other)
        };
        out.push(StageCost {
            stage: (*stage).to_owned(),
            without: (*without).to_owned(),
            cpu_us_per_request: diff("c=16", |r| r.cpu_s_per_1k.map(|c| c * 1000.0)),
            p50_c1_us: diff("c=1", |r| Some(r.latency.p50_us)),
            p99_c16_us: diff("c=16", |r| Some(r.latency.p99_us)),
            throughput_ratio: sat(FULL_PATH)
                .zip(sat(without))
                .filter(|(_, o)| *o > 0.0)
                .map(|(f, o)| f / o),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Latency;

    fn row(scenario: &str, c: usize, p50: f64, p99: f64, cpu: f64) -> Row {
        Row {
            scenario: scenario.into(),
            load: format!("c={c}"),
            concurrency: Some(c),
            ok: 100,
            latency: Latency {
                p50_us: p50,
                p99_us: p99,
                ..Latency::default()
            },
            cpu_s_per_1k: Some(cpu),
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
    fn differences_against_the_full_path() {
        let rows = vec![
            row("gateway", 1, 250.0, 400.0, 0.080),
            row("gateway", 16, 900.0, 2000.0, 0.060),
            row("gateway-no-screen", 1, 200.0, 350.0, 0.070),
            row("gateway-no-screen", 16, 800.0, 1500.0, 0.045),
        ];
        let saturation = vec![sat("gateway", 10_000.0), sat("gateway-no-screen", 12_500.0)];
        let costs = stage_costs(
            &rows,
            &saturation,
            &[
                ("gateway-no-screen", "screening"),
                ("gateway-no-log", "log line"),
            ],
        );
        assert_eq!(
            costs.len(),
            1,
            "a stage whose scenario did not run is left out"
        );
        let c = &costs[0];
        assert_eq!(c.stage, "screening");
        assert!((c.cpu_us_per_request.unwrap() - 15.0).abs() < 1e-9);
        assert_eq!(c.p50_c1_us, Some(50.0));
        assert_eq!(c.p99_c16_us, Some(500.0));
        assert_eq!(c.throughput_ratio, Some(0.8));
    }

    #[test]
    fn missing_numbers_stay_missing() {
        let mut only_c1 = row("gateway-no-log", 1, 240.0, 380.0, 0.0);
        only_c1.cpu_s_per_1k = None;
        let rows = vec![row("gateway", 1, 250.0, 400.0, 0.080), only_c1];
        let costs = stage_costs(
            &rows,
            &[sat("gateway", 1.0), sat("gateway-no-log", 0.0)],
            &[("gateway-no-log", "log line")],
        );
        assert_eq!(costs[0].p50_c1_us, Some(10.0));
        assert_eq!(costs[0].p99_c16_us, None);
        assert_eq!(costs[0].cpu_us_per_request, None);
        assert_eq!(costs[0].throughput_ratio, None);
        assert!(stage_costs(&rows, &[], &[("gateway-no-log", "x")]).is_empty());
    }
}
