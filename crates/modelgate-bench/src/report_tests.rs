//! Tests of the report: added-latency and saturation math, target checks,
//! Markdown rendering (of `crate::markdown`), dates.

use super::*;

fn lat(p50: f64, p99: f64) -> Latency {
    Latency {
        p50_us: p50,
        p90_us: p50 + 10.0,
        p99_us: p99,
        p999_us: p99 * 2.0,
        mean_us: p50,
        max_us: p99 * 3.0,
    }
}

fn row(scenario: &str, c: usize, latency: Latency, rps: f64) -> Row {
    Row {
        scenario: scenario.into(),
        load: format!("c={c}"),
        concurrency: Some(c),
        ok: 1000,
        latency,
        throughput_rps: rps,
        ..Row::default()
    }
}

fn baseline(s: &str) -> Option<String> {
    match s {
        "gateway" | "litellm" => Some("direct".into()),
        _ => None,
    }
}

fn sample_rows() -> Vec<Row> {
    let mut rows = vec![
        row("direct", 1, lat(100.0, 200.0), 9000.0),
        row("direct", 16, lat(300.0, 600.0), 30000.0),
        row("gateway", 1, lat(180.0, 300.0), 5000.0),
        row("gateway", 16, lat(500.0, 850.0), 16000.0),
        row("litellm", 16, lat(40_000.0, 90_600.0), 400.0),
    ];
    rows.push(Row {
        scenario: "gateway".into(),
        load: "rate=500/s".into(),
        rate: Some(500.0),
        ok: 2500,
        latency: lat(150.0, 400.0),
        throughput_rps: 500.0,
        ..Row::default()
    });
    fill_added(&mut rows, baseline);
    rows
}

#[test]
fn added_latency_is_against_the_same_load_point() {
    let rows = sample_rows();
    assert_eq!(rows[0].added, None);
    let g1 = rows[2].added.unwrap();
    assert_eq!((g1.p50_us, g1.p99_us, g1.p999_us), (80.0, 100.0, 200.0));
    let g16 = rows[3].added.unwrap();
    assert_eq!((g16.p50_us, g16.p99_us), (200.0, 250.0));
    assert_eq!(rows[4].added.unwrap().p99_us, 90_000.0);
    assert_eq!(rows[5].added, None, "no direct row at that rate");
}

#[test]
fn negative_added_latency_is_kept() {
    let mut rows = vec![
        row("direct", 1, lat(100.0, 200.0), 1.0),
        row("gateway", 1, lat(95.0, 190.0), 1.0),
    ];
    fill_added(&mut rows, baseline);
    assert_eq!(rows[1].added.unwrap().p99_us, -10.0);
}

#[test]
fn saturation_takes_the_best_closed_loop_level() {
    let rows = sample_rows();
    let s = saturation(&rows, baseline);
    let names: Vec<_> = s.iter().map(|x| x.scenario.as_str()).collect();
    assert_eq!(names, ["direct", "gateway", "litellm"]);
    assert_eq!(s[1].throughput_rps, 16000.0);
    assert_eq!(s[1].at, "c=16");
    assert!((s[1].vs_baseline.unwrap() - 16000.0 / 30000.0).abs() < 1e-9);
    assert_eq!(s[0].vs_baseline, None);
}

fn streams(hwm_mib: u64, n: usize) -> StreamsResult {
    StreamsResult {
        scenario: "gateway-stream".into(),
        streams: n,
        opened: n,
        open: Memory {
            rss_kib: hwm_mib * 1024,
            hwm_kib: hwm_mib * 1024,
        },
        ..StreamsResult::default()
    }
}

#[test]
fn targets() {
    let rows = sample_rows();
    let sat = saturation(&rows, baseline);
    let s = streams(42, 1000);
    let t = check_targets(&rows, &sat, Some(&s));
    let verdicts: Vec<Verdict> = t.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Pass, // +0.250 ms ≤ 0.3
            Verdict::Pass, // 90 ms / 0.25 ms = 360×
            Verdict::Pass, // 16000 > 400
            Verdict::Pass, // 0.53 ≥ 0.5
            Verdict::Pass, // 42 MiB
        ]
    );
    assert!(t[0].measured.starts_with("+0.250 ms"), "{}", t[0].measured);
    assert!(t[1].measured.starts_with("360×"), "{}", t[1].measured);

    let mut slow = sample_rows();
    slow[3].latency.p99_us = 1000.0;
    slow[3].errors = 1;
    fill_added(&mut slow, baseline);
    let t = check_targets(&slow, &sat, Some(&streams(70, 1000)));
    assert_eq!(t[0].verdict, Verdict::Miss);
    assert!(t[0].measured.contains("1 errors"));
    assert_eq!(t[4].verdict, Verdict::Miss);
    let t = check_targets(&slow, &sat, Some(&streams(10, 20)));
    assert_eq!(
        t[4].verdict,
        Verdict::NotRun,
        "20 streams say nothing of 1,000"
    );
    assert!(t[4].measured.contains("20 streams"));

    let only_direct = vec![row("direct", 16, lat(1.0, 2.0), 1.0)];
    let t = check_targets(&only_direct, &saturation(&only_direct, baseline), None);
    assert!(t.iter().all(|c| c.verdict == Verdict::NotRun));
}

#[test]
fn markdown_has_every_section() {
    let rows = sample_rows();
    let sat = saturation(&rows, baseline);
    let s = streams(42, 1000);
    let mut with_error = rows.clone();
    with_error[3].errors = 2;
    with_error[3].error_samples = vec!["HTTP 502 `x`".into()];
    let report = Report {
        date: rfc3339(0),
        command: "modelgate-bench --smoke".into(),
        machine: Machine {
            cpus: 2,
            mem_total_kib: 2 * 1024 * 1024,
            cpu_model: "Test CPU".into(),
            clock_ticks: 100,
            clock_ticks_assumed: false,
            load_at_start: "0.10 0.20 0.30".into(),
            load_at_end: "1.00 0.50 0.40".into(),
        },
        settings: serde_json::json!({}),
        scenarios: vec![ScenarioInfo {
            name: "litellm".into(),
            about: String::new(),
            baseline: Some("direct".into()),
            skipped: Some("pip failed".into()),
        }],
        targets: check_targets(&with_error, &sat, Some(&s)),
        round_rows: Vec::new(),
        rows: with_error,
        saturation: sat,
        stage_costs: vec![crate::report::StageCost {
            stage: "screening".into(),
            without: "gateway-no-screen".into(),
            cpu_us_per_request: Some(12.3),
            p50_c1_us: Some(40.0),
            p99_c16_us: None,
            throughput_ratio: Some(0.8),
        }],
        store_comparison: Vec::new(),
        streams: Some(s),
        notes: vec!["a note".into()],
    };
    let md = crate::markdown::render(&report);
    assert!(md.contains("2 CPUs (Test CPU), 2.0 GiB RAM"));
    assert!(md.contains("0.10 0.20 0.30 at start, 1.00 0.50 0.40 at end"));
    assert!(md.contains("**litellm skipped**: pip failed"));
    assert!(md.contains(
        "| gateway | c=16 | 1000 | **2** ⚠ | 0.500 | 0.510 | 0.850 | 1.700 | 0.500 | 16000 | +0.200 | +0.200 | +0.250 | +0.500 |  |  |"
    ));
    assert!(md.contains("| direct | c=1 | 1000 | 0 | 0.100 |"));
    assert!(md.contains("| gateway | 16000 | c=16 | 0.53 |"));
    assert!(md.contains("| 1000 | 1000 | 0 | 0.0 | 42.0 | 42.0 |"));
    assert!(
        md.contains("**MISS**"),
        "errors turn the c=16 target into a miss"
    );
    assert!(md.contains("- gateway c=16: `HTTP 502 'x'`"));
    assert!(md.contains("- a note"));
    assert!(md.contains("| screening | gateway-no-screen | +12.3 | +0.040 |  | 0.80 |"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["targets"][0]["verdict"], "MISS");
    assert_eq!(json["rows"][3]["added"]["p99_us"], 250.0);
}

#[test]
fn dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
}

#[test]
fn markdown_with_rounds_shows_each_round() {
    let mut round_rows = Vec::new();
    for round in 1..=3 {
        let mut d = row("direct", 16, lat(100.0, 200.0), 1.0);
        let mut g = row("gateway", 16, lat(150.0, 200.0 + 100.0 * round as f64), 1.0);
        d.round = round;
        g.round = round;
        round_rows.extend([d, g]);
    }
    fill_added(&mut round_rows, baseline);
    let rows = crate::rounds::summarize(&round_rows);
    let report = Report {
        date: rfc3339(0),
        command: String::new(),
        machine: Machine {
            cpus: 2,
            mem_total_kib: 0,
            cpu_model: String::new(),
            clock_ticks: 100,
            clock_ticks_assumed: true,
            load_at_start: String::new(),
            load_at_end: String::new(),
        },
        settings: serde_json::json!({}),
        scenarios: Vec::new(),
        targets: check_targets(&rows, &[], None),
        saturation: Vec::new(),
        stage_costs: Vec::new(),
        store_comparison: Vec::new(),
        rows,
        round_rows,
        streams: None,
        notes: Vec::new(),
    };
    assert!(
        report.targets[0]
            .measured
            .starts_with("+0.200 ms (median; rounds: +0.100, +0.200, +0.300)")
    );
    let md = crate::markdown::render(&report);
    assert!(md.contains("median of 3 rounds"));
    assert!(md.contains("| scenario | load | round 1 | round 2 | round 3 |"));
    assert!(md.contains("| gateway | c=16 | +0.100 | +0.200 | +0.300 |"));
    assert!(md.contains("ticks at 100 Hz (assumed)"));
    assert!(!md.contains("What each stage costs"));
    assert!(!md.contains("PostgreSQL"));
}

#[test]
fn markdown_shows_postgres_beside_sqlite() {
    let mut rows = sample_rows();
    let mut pg = row("gateway-pg", 16, lat(900.0, 2000.0), 4000.0);
    pg.cpu_s_per_1k = Some(0.09);
    pg.server_cpu_s_per_1k = Some(0.125);
    rows.push(pg);
    let baseline = |s: &str| match s {
        "gateway-pg" => Some("gateway".to_owned()),
        other => baseline(other),
    };
    fill_added(&mut rows, |s| {
        (s == "gateway-pg")
            .then(|| "direct".to_owned())
            .or_else(|| baseline(s))
    });
    let sat = saturation(&rows, baseline);
    let pg_sat = sat.iter().find(|x| x.scenario == "gateway-pg").unwrap();
    assert_eq!(pg_sat.baseline.as_deref(), Some("gateway"));
    assert_eq!(pg_sat.vs_baseline, Some(0.25));
    let report = Report {
        date: rfc3339(0),
        command: String::new(),
        machine: Machine {
            cpus: 2,
            mem_total_kib: 0,
            cpu_model: String::new(),
            clock_ticks: 100,
            clock_ticks_assumed: false,
            load_at_start: String::new(),
            load_at_end: String::new(),
        },
        settings: serde_json::json!({}),
        scenarios: Vec::new(),
        targets: Vec::new(),
        saturation: sat,
        stage_costs: Vec::new(),
        store_comparison: vec![StoreComparison {
            sqlite: StoreSide {
                scenario: "gateway".into(),
                added_p99_c1_us: Some(100.0),
                added_p99_c16_us: Some(250.0),
                throughput_rps: Some(16000.0),
                gateway_cpu_us_per_request: Some(60.0),
                server_cpu_us_per_request: None,
            },
            postgres: StoreSide {
                scenario: "gateway-pg".into(),
                added_p99_c1_us: Some(900.0),
                added_p99_c16_us: Some(1400.0),
                throughput_rps: Some(4000.0),
                gateway_cpu_us_per_request: Some(90.0),
                server_cpu_us_per_request: Some(125.0),
            },
            throughput_ratio: Some(0.25),
        }],
        rows,
        round_rows: Vec::new(),
        streams: None,
        notes: Vec::new(),
    };
    let md = crate::markdown::render(&report);
    assert!(md.contains("| CPU s / 1k req | RSS MiB | PostgreSQL server CPU s / 1k req |"));
    assert!(
        md.contains("| gateway-pg | c=16 | 1000 | 0 | 0.900 |"),
        "{md}"
    );
    assert!(md.contains(" | 0.090 |  | 0.125 |\n"), "{md}");
    assert!(md.contains("| gateway | 16000 | c=16 | 0.53 | direct |"));
    assert!(md.contains("| gateway-pg | 4000 | c=16 | 0.25 | gateway |"));
    assert!(md.contains("## PostgreSQL store against SQLite"));
    assert!(md.contains("| gateway | SQLite | +0.100 | +0.250 | 16000 |  | 60.0 |  | 60.0 |"));
    assert!(md.contains(
        "| gateway-pg | PostgreSQL | +0.900 | +1.400 | 4000 | 0.25 | 90.0 | 125.0 | 215.0 |"
    ));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["store_comparison"][0]["postgres"]["server_cpu_us_per_request"],
        125.0
    );
}
