//! The projection tables' schema as runproof owns it ([`TableSpec`]), created for one
//! [`TableSet`], and the renames that turn a copy into the live table.
//!
//! A copy is created from the owned definition, never from the live table (`LIKE`), so a
//! rebuild works when the live table is missing. Its constraints are unnamed in the
//! definition, so PostgreSQL names them after the copy (`operation_runs__rebuild_pkey`),
//! and its indexes carry the copy's name where the live index has the table's
//! (`operation_runs__rebuild_created_idx`). The swap renames every constraint and index
//! that starts with the copy's name to start with the live name instead: the result is
//! named exactly as a freshly migrated table.

use sqlx::PgConnection;

use crate::error::ProjectorError;
use crate::projection::{IndexSpec, TableSet, TableSpec};
use crate::sql::quote_ident;

/// The name `index` carries on `spec`'s table in `set`.
pub fn index_name(
    spec: &TableSpec,
    index: &IndexSpec,
    set: TableSet,
) -> Result<String, ProjectorError> {
    match index.name.strip_prefix(spec.name) {
        Some(rest) if rest.starts_with('_') => Ok(format!("{}{rest}", set.table(spec.name))),
        _ => Err(ProjectorError::Schema {
            table: spec.name.to_string(),
            reason: format!("index {} does not start with the table's name", index.name),
        }),
    }
}

/// Whether a table of this name exists in the current schema.
pub async fn table_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_class \
         WHERE relname = $1 AND relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p'))",
    )
    .bind(name)
    .fetch_one(conn)
    .await
}

/// Creates `spec`'s table in `set`, with its primary key and constraints but without its
/// secondary indexes (a bulk load is faster without them; see [`create_indexes`]).
pub async fn create_table(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let table = quote_ident(&set.table(spec.name))?;
    sqlx::query(&format!("CREATE TABLE {table} ({})", spec.columns))
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates `spec`'s table in `set` as a temporary table of this session (without its
/// secondary indexes): it is dropped when the session ends, however the session ends.
pub async fn create_temporary_table(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let table = quote_ident(&set.table(spec.name))?;
    sqlx::query(&format!(
        "CREATE TEMPORARY TABLE {table} ({})",
        spec.columns
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates `spec`'s secondary indexes on its table in `set`. Rows that break a unique
/// index (an invariant the table guards) are reported as such.
pub async fn create_indexes(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let table = quote_ident(&set.table(spec.name))?;
    for index in spec.indexes {
        let name = quote_ident(&index_name(spec, index, set)?)?;
        let unique = if index.unique { "UNIQUE " } else { "" };
        sqlx::query(&format!(
            "CREATE {unique}INDEX {name} ON {table} {}",
            index.definition
        ))
        .execute(&mut *conn)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                ProjectorError::Schema {
                    table: spec.name.to_string(),
                    reason: format!("the rebuilt rows break the unique index {}", index.name),
                }
            }
            _ => ProjectorError::Database(e),
        })?;
    }
    Ok(())
}

/// Inside the swap's transaction, after the live table was dropped: renames the copy in
/// `set` to the live name, and each of its constraints and indexes named after the copy
/// to the live table's name.
pub async fn rename_to_live(
    conn: &mut PgConnection,
    spec: &TableSpec,
    set: TableSet,
) -> Result<(), ProjectorError> {
    let copy_name = set.table(spec.name);
    let live = quote_ident(spec.name)?;
    sqlx::query(&format!(
        "ALTER TABLE {} RENAME TO {live}",
        quote_ident(&copy_name)?
    ))
    .execute(&mut *conn)
    .await?;
    let renamed = |name: &str| {
        name.strip_prefix(&copy_name)
            .filter(|rest| rest.starts_with('_'))
            .map(|rest| format!("{}{rest}", spec.name))
    };
    // Renaming a constraint backed by an index (the primary key) renames its index too,
    // so constraints go first and the remaining indexes are read afterwards.
    let constraints: Vec<String> =
        sqlx::query_scalar("SELECT conname::text FROM pg_constraint WHERE conrelid = $1::regclass")
            .bind(&live)
            .fetch_all(&mut *conn)
            .await?;
    for old in constraints {
        if let Some(new) = renamed(&old) {
            sqlx::query(&format!(
                "ALTER TABLE {live} RENAME CONSTRAINT {} TO {}",
                quote_ident(&old)?,
                quote_ident(&new)?
            ))
            .execute(&mut *conn)
            .await?;
        }
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = $1::regclass",
    )
    .bind(&live)
    .fetch_all(&mut *conn)
    .await?;
    for old in indexes {
        if let Some(new) = renamed(&old) {
            sqlx::query(&format!(
                "ALTER INDEX {} RENAME TO {}",
                quote_ident(&old)?,
                quote_ident(&new)?
            ))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::MAX_IDENTIFIER_BYTES;

    #[test]
    fn every_index_is_named_after_its_table() {
        for p in crate::all() {
            for spec in p.tables() {
                for index in spec.indexes {
                    assert_eq!(
                        index_name(spec, index, TableSet::Live).ok().as_deref(),
                        Some(index.name),
                        "{} must start with {}_",
                        index.name,
                        spec.name
                    );
                }
            }
        }
    }

    /// PostgreSQL would shorten a longer name, and the swap would not find it again.
    #[test]
    fn every_copy_name_and_the_names_postgres_derives_from_it_fit_in_an_identifier() {
        let longest_derived_suffix = "_pkey".len().max("_status_check".len());
        for p in crate::all() {
            for spec in p.tables() {
                for set in TableSet::COPIES {
                    let table = set.table(spec.name);
                    assert!(
                        table.len() + longest_derived_suffix <= MAX_IDENTIFIER_BYTES,
                        "{table}"
                    );
                    for index in spec.indexes {
                        let name = index_name(spec, index, set).unwrap_or_default();
                        assert!(quote_ident(&name).is_ok(), "{name}");
                    }
                }
            }
        }
    }
}
