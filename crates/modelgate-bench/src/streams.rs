//! Peak memory with open streams: the mock holds every stream after its
//! first chunk, N streaming requests (one connection each) go through the
//! gateway, and once each has its first chunk the gateway's VmRSS and VmHWM
//! are sampled; then the mock releases them and every stream is drained.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use http_body_util::BodyExt;
use modelgate_mock::Behavior;
use tokio::sync::mpsc;

use crate::loadgen::{self, HttpClient, RequestSpec};
use crate::process;
use crate::report::StreamsResult;

/// Time for all streams to reach their first chunk, and again to drain.
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Error messages kept.
const SAMPLES: usize = 5;

/// Opens `n` held streams through the gateway (`gateway_pid`), samples its
/// memory, releases and drains. `base` is the mock behavior to restore.
pub async fn measure(
    scenario: &str,
    gateway_pid: u32,
    spec: Arc<RequestSpec>,
    n: usize,
    mock: SocketAddr,
    control: &HttpClient,
    base: &Behavior,
) -> Result<StreamsResult> {
    let idle = process::memory(gateway_pid)?;
    let hold = Behavior {
        hold_after_first_chunk: true,
        ..base.clone()
    };
    let behavior_url = format!("http://{mock}/_mock/behavior");
    loadgen::post_json(control, &behavior_url, serde_json::to_string(&hold)?).await?;

    let (first_tx, mut first_rx) = mpsc::channel::<Result<(), String>>(n.max(1));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let spec = Arc::clone(&spec);
        let first_tx = first_tx.clone();
        tasks.push(tokio::spawn(async move {
            let client = loadgen::client();
            let mut reported = false;
            let outcome = one_stream(&client, &spec, &first_tx, &mut reported).await;
            if let Err(e) = &outcome
                && !reported
            {
                let _ = first_tx.send(Err(e.clone())).await;
            }
            outcome
        }));
    }
    drop(first_tx);

    let mut result = StreamsResult {
        scenario: scenario.to_owned(),
        streams: n,
        idle,
        ..StreamsResult::default()
    };
    let mut samples = Vec::new();
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    let mut reported = 0;
    while reported < n {
        match tokio::time::timeout_at(deadline, first_rx.recv()).await {
            Ok(Some(Ok(()))) => result.opened += 1,
            Ok(Some(Err(e))) => {
                if samples.len() < SAMPLES {
                    samples.push(format!("before the first chunk: {e}"));
                }
            }
            Ok(None) => break,
            Err(_) => {
                samples.push(format!(
                    "only {} of {n} streams had their first chunk after {PHASE_TIMEOUT:?}",
                    result.opened
                ));
                break;
            }
        }
        reported += 1;
    }
    result.open = process::memory(gateway_pid)?;

    loadgen::post_json(control, &behavior_url, serde_json::to_string(base)?).await?;
    loadgen::post_json(
        control,
        &format!("http://{mock}/_mock/release"),
        String::new(),
    )
    .await?;
    let drain = async {
        let mut errors = 0;
        for task in tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    errors += 1;
                    if samples.len() < SAMPLES {
                        samples.push(e);
                    }
                }
                Err(e) => {
                    errors += 1;
                    samples.push(format!("stream task failed: {e}"));
                }
            }
        }
        errors
    };
    result.errors = match tokio::time::timeout(PHASE_TIMEOUT, drain).await {
        Ok(errors) => errors,
        Err(_) => {
            samples.push(format!("streams did not drain within {PHASE_TIMEOUT:?}"));
            n
        }
    };
    result.error_samples = samples;
    Ok(result)
}

/// One held stream: send, report the first body chunk (setting `reported`),
/// read to the end and check it ends with `data: [DONE]`.
async fn one_stream(
    client: &HttpClient,
    spec: &RequestSpec,
    first: &mpsc::Sender<Result<(), String>>,
    reported: &mut bool,
) -> Result<(), String> {
    let mut req = http::Request::post(spec.uri.clone())
        .body(http_body_util::Full::new(spec.body.clone()))
        .map_err(|e| e.to_string())?;
    *req.headers_mut() = spec.headers.clone();
    let resp = tokio::time::timeout(PHASE_TIMEOUT, client.request(req))
        .await
        .map_err(|_| "no response headers".to_owned())?
        .map_err(|e| format!("{e:?}"))?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let mut body = resp.into_body();
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let frame = tokio::time::timeout(PHASE_TIMEOUT * 2, body.frame())
            .await
            .map_err(|_| "stream stalled".to_owned())?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| format!("body: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if !*reported && !data.is_empty() {
                *reported = true;
                let _ = first.send(Ok(())).await;
            }
            tail.extend_from_slice(&data);
            let keep = tail.len().saturating_sub(64);
            tail.drain(..keep);
        }
    }
    if !tail.trim_ascii_end().ends_with(b"data: [DONE]") {
        return Err("stream did not end with data: [DONE]".to_owned());
    }
    Ok(())
}
