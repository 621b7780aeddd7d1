//! KEK rotation's refusals through the CLI: an unreadable previous KEK, no
//! rotation under way, and a store sealed with a KEK that is not
//! configured. Each is clear, names no secret and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::kek::{OLD_KEK_LINE, sealed_values};
use common::{TEST_KEK, TestStore, cli_at, ok, stderr};
use modelgate_identity::KeyEncryptionKey;

#[tokio::test]
async fn kek_bad_paths_are_clear_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modelgate.toml");
    let store = TestStore::new(dir.path(), "m.db");
    let base = format!("{}\n[tokens]\n", store.section());
    let write = |tokens: &str| std::fs::write(&config, format!("{base}{tokens}")).unwrap();

    // No rotation under way: nothing to rotate, exit 0, nothing changed.
    write(OLD_KEK_LINE);
    ok(cli_at(
        &config,
        &[
            "identity",
            "create",
            "--name",
            "app",
            "--kind",
            "service",
            "--owner",
            "t@example.com",
            "--environment",
            "prod",
        ],
    ));
    let before = sealed_values(&store);
    assert_eq!(before.len(), 2, "the CLI's audit keys");
    let out = ok(cli_at(&config, &["kek", "rotate"]));
    assert!(out.contains("nothing to rotate"), "{out}");
    assert_eq!(sealed_values(&store), before);

    // An unreadable previous KEK: a config error naming the field.
    let canary = "not-a-kek-CANARY-5e1d";
    let bad = dir.path().join("bad.kek");
    std::fs::write(&bad, canary).unwrap();
    for (entry, want) in [
        ("env:MG_NO_SUCH_KEK", "MG_NO_SUCH_KEK"),
        (
            &*format!("file:{}", bad.display()),
            "invalid key-encryption key",
        ),
        ("plain-text", "tokens.previous_keks[0]"),
    ] {
        write(&format!("{OLD_KEK_LINE}previous_keks = [\"{entry}\"]\n"));
        for args in [&["config", "check"][..], &["kek", "rotate"]] {
            let out = cli_at(&config, args);
            assert!(!out.status.success(), "{args:?} with {entry}");
            let text = stderr(&out);
            assert!(
                text.contains("tokens.previous_keks[0]") && text.contains(want),
                "{args:?}: {text}"
            );
            assert!(!text.contains(canary), "{text}");
        }
    }

    // The store sealed with a KEK that is not configured: refused, nothing
    // changed, the message names the KEK id it lacks.
    let other = dir.path().join("other.kek");
    let stray = dir.path().join("stray.kek");
    std::fs::write(&other, KeyEncryptionKey::generate().unwrap().to_base64()).unwrap();
    std::fs::write(&stray, KeyEncryptionKey::generate().unwrap().to_base64()).unwrap();
    write(&format!(
        "kek = \"file:{}\"\nprevious_keks = [\"file:{}\"]\n",
        other.display(),
        stray.display()
    ));
    let old_id = KeyEncryptionKey::parse(TEST_KEK).unwrap().id().to_string();
    for args in [&["kek", "rotate"][..], &["kek", "rotate", "--check"]] {
        let out = cli_at(&config, args);
        assert!(!out.status.success(), "{args:?}");
        let text = stderr(&out);
        assert!(
            text.contains("unknown key-encryption key") && text.contains(&old_id),
            "{args:?}: {text}"
        );
        assert!(text.contains("nothing was changed"), "{args:?}: {text}");
    }
    assert_eq!(sealed_values(&store), before);
}
