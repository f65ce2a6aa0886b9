//! The versioned-document table behind jobs and schedules: one SQLite row per (tenant, id)
//! with the record as JSON in `doc`, optimistic concurrency on `version`, and the index
//! columns the record's queries need. Jobs and schedules used to write this table twice;
//! now [`crate::SqliteJobTable`] and [`crate::SqliteSchedules`] are thin layers over
//! [`VersionedTable`]. The schema is the migrations' (`db.rs`); nothing here changes it.

use std::marker::PhantomData;
use std::sync::Arc;

use ec_domain::PortError;
use ec_domain::ports::PortResult;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Db, DbError};

/// A record stored as a versioned document.
pub(crate) trait Versioned: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// What the record is called in messages (`job`, `schedule`).
    const KIND: &'static str;
    /// The table (`jobs`, `schedules`), keyed by (`tenant`, [`Self::ID_COLUMN`]).
    const TABLE: &'static str;
    const ID_COLUMN: &'static str;
    /// The index columns besides the key, `version` and `doc`, in the order of
    /// [`Versioned::column_values`].
    const COLUMNS: &'static [&'static str];

    /// The record's tenant, id and version.
    fn key(&self) -> (&str, &str, u64);
    fn column_values(&self) -> Vec<Value>;
}

/// The statements of one table, built once from its [`Versioned`] constants.
#[derive(Debug)]
struct Statements {
    insert: String,
    update: String,
    get: String,
    delete: String,
    select: String,
}

impl Statements {
    fn of<T: Versioned>() -> Statements {
        let (table, id) = (T::TABLE, T::ID_COLUMN);
        let n = T::COLUMNS.len();
        let columns: String = T::COLUMNS.iter().map(|c| format!(", {c}")).collect();
        let values: String = (5..5 + n).map(|i| format!(", ?{i}")).collect();
        let sets: String = T::COLUMNS
            .iter()
            .zip(5..)
            .map(|(c, i)| format!(", {c} = ?{i}"))
            .collect();
        Statements {
            insert: format!(
                "INSERT INTO {table} (tenant, {id}, version, doc{columns})
                 VALUES (?1, ?2, ?3, ?4{values})
                 ON CONFLICT (tenant, {id}) DO NOTHING"
            ),
            update: format!(
                "UPDATE {table} SET version = ?3, doc = ?4{sets}
                 WHERE tenant = ?1 AND {id} = ?2 AND version = ?{}",
                5 + n
            ),
            get: format!("SELECT doc FROM {table} WHERE tenant = ?1 AND {id} = ?2"),
            delete: format!("DELETE FROM {table} WHERE tenant = ?1 AND {id} = ?2"),
            select: format!("SELECT tenant, {id}, doc{columns} FROM {table} "),
        }
    }
}

/// The values of one row, in the order of the statements' parameters.
struct Row {
    tenant: String,
    id: String,
    values: Vec<Value>,
}

impl Row {
    fn of<T: Versioned>(doc: &T) -> PortResult<Row> {
        let (tenant, id, version) = doc.key();
        let json = serde_json::to_string(doc)
            .map_err(|e| PortError::Invalid(format!("{} {id} not serialisable: {e}", T::KIND)))?;
        let mut values = vec![
            Value::Text(tenant.to_string()),
            Value::Text(id.to_string()),
            Value::Integer(version_i64::<T>(version)?),
            Value::Text(json),
        ];
        values.extend(doc.column_values());
        Ok(Row {
            tenant: tenant.to_string(),
            id: id.to_string(),
            values,
        })
    }
}

fn version_i64<T: Versioned>(v: u64) -> PortResult<i64> {
    i64::try_from(v).map_err(|_| PortError::Invalid(format!("{} version {v} too large", T::KIND)))
}

fn parse<T: Versioned>(tenant: &str, id: &str, doc: &str) -> Result<T, DbError> {
    serde_json::from_str(doc).map_err(|e| {
        DbError::Port(PortError::Invalid(format!(
            "stored {} {tenant}/{id} is unreadable: {e}",
            T::KIND
        )))
    })
}

/// A record read back with its index columns (in [`Versioned::COLUMNS`] order).
pub(crate) struct Stored<T> {
    pub(crate) doc: T,
    columns: Vec<Value>,
}

impl<T: Versioned> Stored<T> {
    /// The integer index column `name`; `Invalid` when it holds anything else.
    pub(crate) fn integer(&self, name: &str) -> PortResult<i64> {
        let value = T::COLUMNS
            .iter()
            .position(|c| *c == name)
            .and_then(|i| self.columns.get(i));
        let (tenant, id, _) = self.doc.key();
        match value {
            Some(Value::Integer(v)) => Ok(*v),
            _ => Err(PortError::Invalid(format!(
                "stored {} {tenant}/{id}: column {name} is not an integer",
                T::KIND
            ))),
        }
    }
}

/// One SQLite table of `T` documents.
#[derive(Debug)]
pub(crate) struct VersionedTable<T> {
    db: Db,
    sql: Arc<Statements>,
    _doc: PhantomData<fn() -> T>,
}

impl<T> Clone for VersionedTable<T> {
    fn clone(&self) -> Self {
        VersionedTable {
            db: self.db.clone(),
            sql: Arc::clone(&self.sql),
            _doc: PhantomData,
        }
    }
}

impl<T: Versioned> VersionedTable<T> {
    pub(crate) fn new(db: Db) -> Self {
        VersionedTable {
            db,
            sql: Arc::new(Statements::of::<T>()),
            _doc: PhantomData,
        }
    }

    /// Writes a new record; `ConditionFailed` if its id exists.
    pub(crate) async fn create(&self, doc: &T) -> PortResult<()> {
        let row = Row::of(doc)?;
        let lost = format!("{} {}/{} already exists", T::KIND, row.tenant, row.id);
        self.write(self.sql.insert.clone(), row.values, lost).await
    }

    pub(crate) async fn get(&self, tenant: &str, id: &str) -> PortResult<Option<T>> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let sql = Arc::clone(&self.sql);
        self.db
            .call(move |c| {
                let doc: Option<String> = c
                    .prepare_cached(&sql.get)?
                    .query_row(params![tenant, id], |r| r.get(0))
                    .optional()?;
                doc.map(|d| parse(&tenant, &id, &d)).transpose()
            })
            .await
    }

    /// Replaces a record only if it exists at `expected_version` (`ConditionFailed`
    /// otherwise, and nothing is written).
    pub(crate) async fn update(&self, doc: &T, expected_version: u64) -> PortResult<()> {
        let mut row = Row::of(doc)?;
        let expected = version_i64::<T>(expected_version)?;
        row.values.push(Value::Integer(expected));
        let lost = format!(
            "{} {}/{} is missing or no longer at version {expected}",
            T::KIND,
            row.tenant,
            row.id
        );
        self.write(self.sql.update.clone(), row.values, lost).await
    }

    /// Runs an insert or update; `ConditionFailed(lost)` when it wrote no row.
    async fn write(&self, sql: String, values: Vec<Value>, lost: String) -> PortResult<()> {
        self.db
            .call(move |c| {
                if c.execute(&sql, params_from_iter(&values))? == 0 {
                    return Err(PortError::ConditionFailed(lost).into());
                }
                Ok(())
            })
            .await
    }

    /// Removes a record; removing one that does not exist is not an error.
    pub(crate) async fn delete(&self, tenant: &str, id: &str) -> PortResult<()> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let sql = Arc::clone(&self.sql);
        self.db
            .call(move |c| {
                c.execute(&sql.delete, params![tenant, id])?;
                Ok(())
            })
            .await
    }

    /// The records of `SELECT … FROM table {clause}`, in row order: `clause` is constant SQL
    /// (`WHERE …`, `ORDER BY …`, `LIMIT ?`) over the table's columns, with `?` placeholders
    /// for `args`.
    pub(crate) async fn select(&self, clause: String, args: Vec<Value>) -> PortResult<Vec<T>> {
        let rows = self.select_rows(clause, args).await?;
        Ok(rows.into_iter().map(|r| r.doc).collect())
    }

    /// [`VersionedTable::select`] with each record's index columns as stored.
    pub(crate) async fn select_rows(
        &self,
        clause: String,
        args: Vec<Value>,
    ) -> PortResult<Vec<Stored<T>>> {
        let sql = Arc::clone(&self.sql);
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&format!("{}{clause}", sql.select))?;
                let rows = stmt
                    .query_map(params_from_iter(args), |r| {
                        let columns = (3..3 + T::COLUMNS.len())
                            .map(|i| r.get::<_, Value>(i))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            columns,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                rows.into_iter()
                    .map(|(tenant, id, doc, columns)| {
                        Ok(Stored {
                            doc: parse(&tenant, &id, &doc)?,
                            columns,
                        })
                    })
                    .collect()
            })
            .await
    }
}

/// A row limit as SQLite's integer, saturating.
pub(crate) fn limit_value(limit: usize) -> Value {
    Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use ec_domain::job::Job;

    use super::*;

    #[test]
    fn statements_number_their_parameters_in_row_order() {
        let s = Statements::of::<Job>();
        let flat = |q: &str| q.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            flat(&s.insert),
            "INSERT INTO jobs (tenant, export_id, version, doc, status, created_at, sweep_due) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant, export_id) DO NOTHING"
        );
        assert_eq!(
            flat(&s.update),
            "UPDATE jobs SET version = ?3, doc = ?4, status = ?5, created_at = ?6, sweep_due = ?7 \
             WHERE tenant = ?1 AND export_id = ?2 AND version = ?8"
        );
        assert_eq!(
            flat(&s.select),
            "SELECT tenant, export_id, doc, status, created_at, sweep_due FROM jobs"
        );
    }
}
