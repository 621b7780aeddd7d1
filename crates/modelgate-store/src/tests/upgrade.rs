//! A rolling upgrade on either backend: the previous release's store is
//! migrated by the next release's expand migration, and the previous
//! release keeps serving on it; a contract migration stops it.
//!
//! "Releases" here are migration lists: the previous release is this
//! binary's list, the next one that list plus a migration. The binary's own
//! refusal logic is what both run.

use super::{api_key, identity, postgres_test_options, temp_db};
use crate::schema::{Migration, Phase};
use crate::{Backend, SchemaPolicy, SqliteOptions, Store, StoreError};

/// Opens the store at `path` as a release whose migrations are `list`
/// would, on the backend the test switch names.
async fn open_as(
    path: &std::path::Path,
    list: &[Migration],
    policy: SchemaPolicy,
) -> Result<Store, StoreError> {
    let backend = match postgres_test_options(path).await {
        Some(options) => {
            Backend::Postgres(crate::postgres::PgBackend::open(&options, list, policy).await?)
        }
        None => Backend::Sqlite(
            crate::sqlite::SqliteBackend::open(path, &SqliteOptions::default(), list, policy)
                .await?,
        ),
    };
    Ok(Store {
        backend,
        key_lookups: Default::default(),
    })
}

fn previous_release() -> Vec<Migration> {
    if super::on_postgres() {
        crate::postgres::MIGRATIONS.to_vec()
    } else {
        crate::sqlite::migrate::MIGRATIONS.to_vec()
    }
}

/// The next release: the previous one plus `migration`.
fn next_release(migration: Migration) -> Vec<Migration> {
    let mut list = previous_release();
    list.push(migration);
    list
}

const EXPAND: Migration = Migration {
    version: 1000,
    name: "identity_notes",
    sql: "CREATE TABLE identity_notes (identity_id TEXT NOT NULL PRIMARY KEY, \
          note TEXT NOT NULL, written_at BIGINT NOT NULL); \
          ALTER TABLE identities ADD COLUMN description TEXT;",
    phase: Phase::Expand,
};

const CONTRACT: Migration = Migration {
    version: 1001,
    name: "drop_identity_purpose",
    sql: "ALTER TABLE identities DROP COLUMN purpose;",
    phase: Phase::Contract,
};

#[tokio::test]
async fn the_previous_release_serves_on_an_expanded_store_and_stops_at_a_contract() {
    let (_dir, path) = temp_db();
    let previous = previous_release();
    let next = next_release(EXPAND);

    // The previous release's store, populated.
    let store = open_as(&path, &previous, SchemaPolicy::RequireCurrent)
        .await
        .unwrap();
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_1", "idn_1", 7))
        .await
        .unwrap();
    store.close().await;

    // The next release refuses to start on it until an operator migrates.
    let err = open_as(&path, &next, SchemaPolicy::RequireCurrent)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SchemaBehind(_)), "{err:?}");
    assert!(err.to_string().contains("1000_identity_notes"), "{err}");
    // `modelgate migrate` of the next release.
    let migrated = open_as(&path, &next, SchemaPolicy::Migrate).await.unwrap();
    // The next release serves, and sees the previous release's data.
    assert!(migrated.api_key_by_hash(&[7; 32]).await.unwrap().is_some());

    // The previous release still starts on the expanded store, reads and
    // writes, while the next one is running.
    let old = open_as(&path, &previous, SchemaPolicy::RequireCurrent)
        .await
        .unwrap();
    let (key, who) = old.api_key_by_hash(&[7; 32]).await.unwrap().unwrap();
    assert_eq!((key.id.as_str(), who.name.as_str()), ("key_1", "billing"));
    old.insert_identity(&identity("idn_2", "search"))
        .await
        .unwrap();
    assert!(old.revoke_api_key("key_1", 1_500).await.unwrap());
    assert!(migrated.identity_by_name("search").await.unwrap().is_some());
    old.close().await;
    migrated.close().await;

    // A later contract migration: the previous release is refused, naming
    // the migration, and its data is untouched.
    let later = {
        let mut list = next.clone();
        list.push(CONTRACT);
        list
    };
    open_as(&path, &later, SchemaPolicy::Migrate)
        .await
        .unwrap()
        .close()
        .await;
    let err = open_as(&path, &previous, SchemaPolicy::RequireCurrent)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err:?}");
    assert!(
        err.to_string().contains("1001_drop_identity_purpose"),
        "{err}"
    );
    assert!(err.to_string().contains("may not serve"), "{err}");
    // The release that knows it serves.
    let latest = open_as(&path, &later, SchemaPolicy::RequireCurrent)
        .await
        .unwrap();
    latest.ping().await.unwrap();
    latest.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_on_a_new_store_migrate_it_once() {
    let (_dir, path) = temp_db();
    let list = previous_release();
    // Four openings in flight at once (on one task: each has its own
    // connections, so the database sees them race).
    let (a, b, c, d) = tokio::join!(
        open_as(&path, &list, SchemaPolicy::RequireCurrent),
        open_as(&path, &list, SchemaPolicy::RequireCurrent),
        open_as(&path, &list, SchemaPolicy::RequireCurrent),
        open_as(&path, &list, SchemaPolicy::RequireCurrent),
    );
    let stores = vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    // Every migration is recorded once, and the schema works.
    let store = &stores[0];
    let applied = super::scalar(store, "SELECT COUNT(*) FROM schema_migrations").await;
    assert_eq!(applied, list.len().to_string());
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    for store in stores {
        assert!(store.identity_by_name("billing").await.unwrap().is_some());
        store.close().await;
    }
}
