//! The delivery diagnostics in the tables every node shares (`crate::shared`): the same rows as
//! `diagnostics.db`, written by each node's flusher, read by any node.

use woo_domain::{IntegrationId, from_unix_millis, unix_millis};

use super::{Counts, DiagnosticsError, KEPT_PER_STORE, Pending, PendingRejection, Rejection};
use crate::shared::{SharedDb, describe};

fn failed(error: tokio_postgres::Error) -> DiagnosticsError {
    DiagnosticsError::Shared(describe(&error))
}

/// Adds one flush's counts and rejections in one transaction, then trims each store's
/// rejections to the last [`KEPT_PER_STORE`].
pub(super) fn flush(db: &SharedDb, pending: &Pending) -> Result<(), DiagnosticsError> {
    db.block_on(async {
        let mut client = db
            .client()
            .await
            .map_err(|e| DiagnosticsError::Shared(e.to_string()))?;
        let tx = client.transaction().await.map_err(failed)?;
        for ((integration, status), items) in &pending.counts {
            tx.execute(
                "INSERT INTO delivery_counts (integration_id, status, items) VALUES ($1, $2, $3)
                 ON CONFLICT (integration_id, status)
                 DO UPDATE SET items = delivery_counts.items + excluded.items",
                &[
                    &integration.to_string(),
                    status,
                    &i64::try_from(*items).unwrap_or(i64::MAX),
                ],
            )
            .await
            .map_err(failed)?;
        }
        for (integration, rejections) in &pending.rejections {
            let store = integration.to_string();
            for PendingRejection {
                received_at,
                endpoint,
                outcome: o,
            } in rejections
            {
                tx.execute(
                    "INSERT INTO delivery_rejections
                        (integration_id, received_at, endpoint, item, event_type, code, message, path, excerpt)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9)",
                    &[
                        &store,
                        &unix_millis(*received_at),
                        endpoint,
                        &o.item,
                        &o.event_type,
                        &o.code,
                        &o.message,
                        &o.path,
                        &o.excerpt,
                    ],
                )
                .await
                .map_err(failed)?;
            }
            tx.execute(
                "DELETE FROM delivery_rejections WHERE integration_id = $1 AND id <=
                    (SELECT id FROM delivery_rejections WHERE integration_id = $1
                     ORDER BY id DESC LIMIT 1 OFFSET $2)",
                &[&store, &KEPT_PER_STORE],
            )
            .await
            .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    })
}

pub(super) fn counts(
    db: &SharedDb,
    integration: IntegrationId,
) -> Result<Counts, DiagnosticsError> {
    db.block_on(async {
        let rows = db
            .client()
            .await
            .map_err(|e| DiagnosticsError::Shared(e.to_string()))?
            .query(
                "SELECT status, items FROM delivery_counts WHERE integration_id = $1",
                &[&integration.to_string()],
            )
            .await
            .map_err(failed)?;
        let mut counts = Counts::default();
        for row in rows {
            let items = u64::try_from(row.get::<_, i64>(1)).unwrap_or_default();
            match row.get::<_, &str>(0) {
                "accepted" => counts.accepted = items,
                "duplicate" => counts.duplicate = items,
                _ => counts.rejected = items,
            }
        }
        Ok(counts)
    })
}

/// The store's last rejections, newest first.
pub(super) fn recent(
    db: &SharedDb,
    integration: IntegrationId,
    limit: usize,
) -> Result<Vec<Rejection>, DiagnosticsError> {
    db.block_on(async {
        let rows = db
            .client()
            .await
            .map_err(|e| DiagnosticsError::Shared(e.to_string()))?
            .query(
                "SELECT received_at, endpoint, item, event_type, code, message, path, excerpt
                 FROM delivery_rejections WHERE integration_id = $1 ORDER BY id DESC LIMIT $2",
                &[
                    &integration.to_string(),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await
            .map_err(failed)?;
        Ok(rows
            .iter()
            .map(|r| Rejection {
                received_at: from_unix_millis(r.get(0)),
                endpoint: r.get(1),
                item: r.get(2),
                event_type: r.get(3),
                code: r.get(4),
                message: r.get(5),
                path: r.get(6),
                excerpt: r.get(7),
            })
            .collect())
    })
}
