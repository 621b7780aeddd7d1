//! A chain compared with an earlier sealed export of it: complete,
//! truncated (a restore from an older backup), or another history.

mod common;

use common::*;
use modelgate_audit::{Continuity, ContinuityError, ExportRange, compare_with_export};

/// 65 records (checkpoints every 10) in a file log; the log's lines and a
/// sealed export of all of it.
async fn fixture() -> TestResult<(tempfile::TempDir, Vec<Vec<u8>>, Vec<u8>)> {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 10).await?;
    append_range(&log, 0, 65).await?;
    log.close().await;
    let lines = log_lines(dir.path())?;
    let mut export = Vec::new();
    for line in export_lines(dir.path(), ExportRange::default())? {
        export.extend_from_slice(&line);
        export.push(b'\n');
    }
    Ok((dir, lines, export))
}

fn keys() -> Vec<modelgate_audit::AuditPublicKey> {
    vec![signer().public_key().clone()]
}

/// The log's lines up to and including record `seq` and the checkpoints
/// before it.
fn cut_after(lines: &[Vec<u8>], seq: u64) -> Vec<Vec<u8>> {
    lines[..=index_of_seq(lines, seq)].to_vec()
}

#[tokio::test]
async fn the_whole_chain_is_complete_against_its_export() -> TestResult {
    let (_dir, lines, export) = fixture().await?;
    let (report, continuity) = compare_with_export(&export, lines, &keys())?;
    assert_eq!(
        continuity,
        Continuity::Complete {
            export_last_seq: 65,
            chain_last_seq: 65
        }
    );
    assert_eq!(continuity.lost(), 0);
    assert_eq!(report.last_seq, Some(65));
    Ok(())
}

#[tokio::test]
async fn a_chain_that_ends_early_is_a_truncation_of_exactly_the_missing_records() -> TestResult {
    let (_dir, lines, export) = fixture().await?;
    // What a restore from a backup taken at record 47 holds: records up
    // to 47, the checkpoint at 40, nothing after.
    let restored = cut_after(&lines, 47);
    let (report, continuity) = compare_with_export(&export, restored, &keys())?;
    assert_eq!(
        continuity,
        Continuity::Truncated {
            chain_last_seq: 47,
            export_last_seq: 65
        }
    );
    assert_eq!(continuity.lost(), 18);
    // The restored chain verifies on its own: nothing else is wrong.
    assert_eq!((report.first_seq, report.last_seq), (Some(1), Some(47)));
    assert_eq!(report.unverified_tail, 7);
    Ok(())
}

#[tokio::test]
async fn a_chain_with_another_record_where_it_ends_is_another_history() -> TestResult {
    let (_dir, lines, export) = fixture().await?;
    // A different log of the same replica and length: same seqs, other
    // records.
    let other_dir = tempfile::tempdir()?;
    let log = start(other_dir.path(), 10).await?;
    append_range(&log, 100, 130).await?;
    log.close().await;
    let other = log_lines(other_dir.path())?;
    let err = compare_with_export(&export, other, &keys()).err();
    assert!(
        matches!(err, Some(ContinuityError::Diverges { seq: 30 })),
        "{err:?}"
    );
    // And a chain longer than the export but different at its end.
    let (_d2, _l2, export_short) = {
        let dir = tempfile::tempdir()?;
        let log = start(dir.path(), 10).await?;
        append_range(&log, 200, 210).await?;
        log.close().await;
        let mut export = Vec::new();
        for line in export_lines(dir.path(), ExportRange::default())? {
            export.extend_from_slice(&line);
            export.push(b'\n');
        }
        (dir, (), export)
    };
    let err = compare_with_export(&export_short, lines, &keys()).err();
    assert!(
        matches!(err, Some(ContinuityError::Diverges { seq: 10 })),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_tampered_chain_or_export_is_refused_before_any_comparison() -> TestResult {
    let (_dir, mut lines, export) = fixture().await?;
    let mut bad_export = export.clone();
    let at = bad_export.len() / 2;
    bad_export[at] ^= 1;
    assert!(matches!(
        compare_with_export(&bad_export, lines.clone(), &keys()),
        Err(ContinuityError::Export(_))
    ));
    lines.remove(index_of_seq(&lines, 20));
    assert!(matches!(
        compare_with_export(&export, lines, &keys()),
        Err(ContinuityError::Chain(_))
    ));
    Ok(())
}

#[tokio::test]
async fn an_export_signed_by_an_untrusted_key_is_refused() -> TestResult {
    let (_dir, lines, export) = fixture().await?;
    let others = vec![other_signer().public_key().clone()];
    assert!(matches!(
        compare_with_export(&export, lines, &others),
        Err(ContinuityError::Export(_))
    ));
    Ok(())
}

#[tokio::test]
async fn a_chain_missing_its_first_records_is_not_complete() -> TestResult {
    let (_dir, lines, export) = fixture().await?;
    // Records 1..=11 deleted from the start of the chain: what remains
    // starts (headerless) at the checkpoint over record 10, then 12.. — a
    // log file that starts after the export does.
    let from = index_of_seq(&lines, 12);
    let rest = lines[from..].to_vec();
    let err = compare_with_export(&export, rest, &keys()).err();
    assert!(
        matches!(
            err,
            Some(ContinuityError::MissingStart {
                chain_first: 12,
                export_first: 1
            })
        ),
        "{err:?}"
    );
    Ok(())
}
