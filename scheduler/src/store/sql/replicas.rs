//! Several scheduler replicas on one database (PostgreSQL only): which replica owns which ward,
//! the fence that refuses a former owner's writes, and where each signer's inbox is open.
//!
//! A ward is owned through a row of `ward_owners`: the replica, an epoch that grows at every
//! takeover, and when the ownership lapses unless renewed. Every replica renews its rows, heartbeats
//! in `replicas`, and takes over lapsed or new wards up to its share (the wards divided among the
//! live replicas, rounded up), handing back what is above it. All of it runs as one write under
//! the chain's lock, so a takeover and a former owner's write never interleave: the write, which
//! checks its epoch in the same transaction ([`Fence::check`]), comes wholly before the takeover
//! or is refused after it. The times here are the database's (`now()`), so replicas' clocks never
//! decide who owns what.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use time::OffsetDateTime;

use super::codec::db_time;
use super::writer::WriteCx;
use super::{Sql, values};
use crate::store::StoreError;

/// The epochs of the wards this replica holds, as its last renewal found them.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    /// This replica.
    pub(crate) replica: String,
    /// Ward → epoch.
    pub(crate) held: Arc<RwLock<HashMap<String, u64>>>,
}

impl Fence {
    /// Refuses (with [`StoreError::NotOwner`]) a write for `ward` unless this replica still
    /// owns it at the epoch it holds and its ownership has not lapsed.
    pub(crate) fn check(&self, conn: &dyn Sql, ward: &str) -> Result<(), StoreError> {
        let epoch = self
            .held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(ward)
            .copied();
        let refused = |why: &str| {
            crate::metrics::fenced_write(ward);
            StoreError::NotOwner(format!(
                "replica {} does not own ward {ward} ({why}); another replica serves it",
                self.replica
            ))
        };
        let Some(epoch) = epoch else {
            return Err(refused("it holds no epoch of it"));
        };
        let owns = conn.query_opt(
            "checking the ward's owner",
            "SELECT 1 FROM ward_owners WHERE ward = ?1 AND replica = ?2 AND epoch = ?3 \
             AND expires_at > now()",
            values![
                ward,
                &self.replica,
                i64::try_from(epoch).unwrap_or(i64::MAX)
            ],
        )?;
        match owns {
            Some(_) => Ok(()),
            None => Err(refused(&format!("epoch {epoch} is over"))),
        }
    }
}

/// Renews, takes over and hands back wards as [`crate::store::Store::hold_wards`] says; returns
/// the wards held with their epochs, by ward id.
pub(crate) fn hold_wards(
    cx: &mut WriteCx<'_>,
    replica: &str,
    ttl_ms: i64,
) -> Result<Vec<(String, u64)>, StoreError> {
    let context = "holding wards";
    let conn = cx.conn;
    conn.execute(
        context,
        "INSERT INTO replicas (id, expires_at) VALUES (?1, now() + ?2::bigint * interval '1 millisecond') \
         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
        values![replica, ttl_ms],
    )?;
    let live: i64 = conn
        .query_opt(
            context,
            "SELECT COUNT(*) FROM replicas WHERE expires_at > now()",
            &[],
        )?
        .map_or(Ok(1), |row| row.int(0))?;
    let wards: Vec<String> = conn
        .query(context, "SELECT id FROM wards ORDER BY id", &[])?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<_, _>>()?;
    let share = wards
        .len()
        .div_ceil(usize::try_from(live.max(1)).unwrap_or(1));
    // Ward → (owner, epoch, lapsed).
    let mut owners: HashMap<String, (String, i64, bool)> = HashMap::new();
    for row in conn.query(
        context,
        "SELECT ward, replica, epoch, CASE WHEN expires_at > now() THEN 0 ELSE 1 END \
         FROM ward_owners",
        &[],
    )? {
        owners.insert(row.text(0)?, (row.text(1)?, row.int(2)?, row.bool(3)?));
    }
    let mut mine: Vec<(String, i64)> = wards
        .iter()
        .filter_map(|w| match owners.get(w) {
            Some((owner, epoch, false)) if owner == replica => Some((w.clone(), *epoch)),
            _ => None,
        })
        .collect();
    // Above its share: hand back the last ones (they lapse now; another replica takes them).
    while mine.len() > share {
        if let Some((ward, epoch)) = mine.pop() {
            conn.execute(
                context,
                "UPDATE ward_owners SET expires_at = now() - interval '1 millisecond' \
                 WHERE ward = ?1 AND replica = ?2 AND epoch = ?3",
                values![&ward, replica, epoch],
            )?;
        }
    }
    for (ward, epoch) in &mine {
        conn.execute(
            context,
            "UPDATE ward_owners SET expires_at = now() + ?4::bigint * interval '1 millisecond' \
             WHERE ward = ?1 AND replica = ?2 AND epoch = ?3",
            values![ward, replica, *epoch, ttl_ms],
        )?;
    }
    // Take over what nobody holds, up to the share.
    for ward in &wards {
        if mine.len() >= share {
            break;
        }
        let epoch = match owners.get(ward) {
            Some((_, _, false)) => continue,
            Some((_, epoch, true)) => epoch + 1,
            None => 1,
        };
        conn.execute(
            context,
            "INSERT INTO ward_owners (ward, replica, epoch, expires_at) \
             VALUES (?1, ?2, ?3, now() + ?4::bigint * interval '1 millisecond') \
             ON CONFLICT (ward) DO UPDATE SET replica = excluded.replica, \
             epoch = excluded.epoch, expires_at = excluded.expires_at",
            values![ward, replica, epoch, ttl_ms],
        )?;
        if owners.contains_key(ward) {
            crate::metrics::ward_taken_over(ward);
        }
        mine.push((ward.clone(), epoch));
    }
    mine.sort();
    Ok(mine
        .into_iter()
        .map(|(ward, epoch)| (ward, u64::try_from(epoch).unwrap_or(0)))
        .collect())
}

/// Says that `signer` (of `ward`) has an inbox open on `replica` until `until`.
pub(crate) fn put_presence(
    conn: &dyn Sql,
    signer: &str,
    ward: &str,
    replica: &str,
    until: OffsetDateTime,
) -> Result<(), StoreError> {
    conn.execute(
        "keeping a signer's presence",
        "INSERT INTO presence (signer_id, replica, ward, expires_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (signer_id, replica) DO UPDATE SET ward = excluded.ward, \
         expires_at = excluded.expires_at",
        values![signer, replica, ward, db_time(until, "the presence's end")?],
    )?;
    Ok(())
}

/// Takes back `signer`'s presence on `replica`.
pub(crate) fn end_presence(conn: &dyn Sql, signer: &str, replica: &str) -> Result<(), StoreError> {
    conn.execute(
        "ending a signer's presence",
        "DELETE FROM presence WHERE signer_id = ?1 AND replica = ?2",
        values![signer, replica],
    )?;
    Ok(())
}

/// The signers of `ward` present on some replica at `now`.
pub(crate) fn present(
    conn: &dyn Sql,
    ward: &str,
    now: OffsetDateTime,
) -> Result<HashSet<String>, StoreError> {
    conn.query(
        "reading signers' presence",
        "SELECT DISTINCT signer_id FROM presence WHERE ward = ?1 AND expires_at > ?2",
        values![ward, db_time(now, "now")?],
    )?
    .iter()
    .map(|row| row.text(0))
    .collect()
}
