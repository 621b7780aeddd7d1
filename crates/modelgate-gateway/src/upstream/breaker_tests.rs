//! The breaker's states and every way a trial can end.

use super::*;

const COOLDOWN: Duration = Duration::from_secs(5);

/// A breaker opened at the returned instant (threshold 1).
fn opened() -> (Breaker, Instant) {
    let b = Breaker::new(1, COOLDOWN);
    let t0 = Instant::now();
    let Admission::Allowed(permit) = b.admit(t0) else {
        panic!("a new breaker is closed");
    };
    assert_eq!(permit.failure(t0), Transition::Opened);
    (b, t0)
}

/// The trial's permit after the cooldown, at `at`.
fn trial(b: &Breaker, at: Instant) -> Permit<'_> {
    match b.admit(at) {
        Admission::Trial(p) => p,
        other => panic!("expected the trial, got {other:?}"),
    }
}

fn rejected(b: &Breaker, at: Instant) -> bool {
    matches!(b.admit(at), Admission::Rejected(_))
}

#[test]
fn opens_after_threshold_then_trials() {
    let b = Breaker::new(3, Duration::from_secs(10));
    let t0 = Instant::now();
    for expected in [Transition::None, Transition::None, Transition::Opened] {
        let Admission::Allowed(p) = b.admit(t0) else {
            panic!("closed until the third failure");
        };
        assert!(!p.is_trial());
        assert_eq!(p.failure(t0), expected);
    }
    assert!(matches!(b.admit(t0), Admission::Rejected(d) if d == Duration::from_secs(10)));
    assert!(b.is_open());
    let later = t0 + Duration::from_secs(11);
    let p = trial(&b, later);
    assert!(p.is_trial());
    assert!(rejected(&b, later), "one trial at a time");
    assert!(b.is_open(), "open while the trial is in flight");
    assert_eq!(p.success(), Transition::Closed);
    assert!(!b.is_open());
    assert!(matches!(b.admit(later), Admission::Allowed(_)));
}

#[test]
fn failed_trial_reopens() {
    let (b, t0) = opened();
    let t1 = t0 + COOLDOWN + Duration::from_secs(1);
    assert_eq!(trial(&b, t1).failure(t1), Transition::Opened);
    assert!(rejected(&b, t1));
    assert!(rejected(&b, t1 + Duration::from_secs(4)));
    drop(trial(&b, t1 + Duration::from_secs(6)));
}

#[test]
fn success_resets_count() {
    let b = Breaker::new(2, COOLDOWN);
    let t0 = Instant::now();
    let Admission::Allowed(p) = b.admit(t0) else {
        panic!()
    };
    assert_eq!(p.failure(t0), Transition::None);
    let Admission::Allowed(p) = b.admit(t0) else {
        panic!()
    };
    assert_eq!(p.success(), Transition::None, "was closed");
    let Admission::Allowed(p) = b.admit(t0) else {
        panic!()
    };
    assert_eq!(p.failure(t0), Transition::None, "the count started over");
    assert!(matches!(b.admit(t0), Admission::Allowed(_)));
}

/// A trial dropped without an outcome: neutral, the next request trials,
/// the breaker stays open (and says so) until a trial answers.
fn released_and_still_open(b: &Breaker, at: Instant) {
    assert!(b.is_open(), "no state change");
    let next = trial(b, at);
    assert!(rejected(b, at));
    assert_eq!(next.success(), Transition::Closed);
    assert!(!b.is_open());
}

#[test]
fn breaker_trial_slot_is_released_after_429() {
    let (b, t0) = opened();
    let t1 = t0 + COOLDOWN + Duration::from_secs(1);
    let p = trial(&b, t1);
    // 429: the forward stage records no outcome and drops the permit.
    drop(p);
    released_and_still_open(&b, t1);
}

#[test]
fn breaker_trial_slot_is_released_after_request_error() {
    let (b, t0) = opened();
    let t1 = t0 + COOLDOWN + Duration::from_secs(1);
    {
        let _permit = trial(&b, t1);
        // The request could not be built: no outcome recorded.
    }
    released_and_still_open(&b, t1);
}

#[test]
fn breaker_trial_slot_is_released_after_untranslatable_request() {
    let (b, t0) = opened();
    let t1 = t0 + COOLDOWN + Duration::from_secs(1);
    let p = trial(&b, t1);
    let translated: Result<(), ()> = Err(());
    if translated.is_err() {
        drop(p);
    }
    released_and_still_open(&b, t1);
}

#[tokio::test]
async fn breaker_trial_slot_is_released_when_the_caller_disconnects() {
    let (b, t0) = opened();
    let t1 = t0 + COOLDOWN + Duration::from_secs(1);
    let b = std::sync::Arc::new(b);
    let held = b.clone();
    // The request's future holds the permit across an await, then is
    // dropped (the caller went away) before it completes.
    let request = tokio::spawn(async move {
        let _permit = trial(&held, t1);
        std::future::pending::<()>().await;
    });
    tokio::task::yield_now().await;
    while !rejected(&b, t1) {
        tokio::task::yield_now().await;
    }
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    released_and_still_open(&b, t1);
}

#[test]
fn a_late_answer_from_before_the_opening_changes_nothing() {
    let b = Breaker::new(1, COOLDOWN);
    let t0 = Instant::now();
    let Admission::Allowed(early) = b.admit(t0) else {
        panic!()
    };
    let Admission::Allowed(opener) = b.admit(t0) else {
        panic!()
    };
    assert_eq!(opener.failure(t0), Transition::Opened);
    assert_eq!(early.failure(t0), Transition::None, "already open");
    let t1 = t0 + COOLDOWN + Duration::from_secs(1);
    drop(trial(&b, t1));
    let p = trial(&b, t1);
    assert_eq!(
        p.failure(t1),
        Transition::Opened,
        "the failed trial reopens"
    );
    assert!(rejected(&b, t1));
}
