//! A slow-client attack: a fresh client's connect time while hundreds of connections start TLS
//! handshakes and never finish them, beside the same without the attack, and what the server did
//! to the attacking connections. The attackers come from other loopback addresses than the fresh
//! client, from one (held to the server's per-address share) or from many (reaching its limit in
//! all).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::Target;

/// The first bytes of a TLS ClientHello: a handshake record announcing 512 bytes, of which
/// only the handshake header and the protocol version ever come.
const PARTIAL_CLIENT_HELLO: [u8; 11] = [
    0x16, 0x03, 0x01, 0x02, 0x00, // record: handshake, TLS 1.0 framing, 512 bytes
    0x01, 0x00, 0x01, 0xfc, // handshake: ClientHello, 508 bytes
    0x03, 0x03, // client version TLS 1.2 (then nothing)
];

/// How long one fresh client may take to connect and answer before it counts as failed.
const FRESH_CLIENT_LIMIT: Duration = Duration::from_secs(30);

/// The slow-client attack: what it was, how fresh clients fared without and during it, and what
/// the server did to the attacking connections.
#[derive(Debug, Clone)]
pub struct SlowClients {
    /// The attackers' first source address...
    pub source: IpAddr,
    /// ...and how many consecutive addresses from it they share (round robin).
    pub sources: usize,
    /// Attacking connections held open at once (each opened again after the server closes it).
    pub attackers: usize,
    /// How long the attack lasted, seconds.
    pub seconds: f64,
    /// The time each side's fresh clients were spread over, seconds.
    pub over_secs: f64,
    /// Fresh clients without the attack.
    pub before: FreshClients,
    /// Fresh clients during the attack.
    pub during: FreshClients,
    /// Attacking connections opened (TCP connected and the partial ClientHello sent).
    pub opened: u64,
    /// Attacking connects that failed (refused or reset before the partial ClientHello went).
    pub refused: u64,
    /// Attacking connections the server closed while the attack lasted...
    pub closed: u64,
    /// ...of which within a second of opening (refused at admission)...
    pub closed_at_once: u64,
    /// ...and of those, the longest any stayed open, seconds (the handshake time limit).
    pub longest_open_secs: f64,
    /// Attacking connections still open when the attack ended.
    pub open_at_end: u64,
}

#[derive(Debug, Default)]
struct AttackCounts {
    opened: u64,
    refused: u64,
    closed: u64,
    closed_at_once: u64,
    longest_open_ms: u128,
    open_now: u64,
}

/// A percentile of connect times by nearest rank, a client that failed counting as slower than
/// any that connected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rank {
    /// A client that connected, ms.
    Ms(f64),
    /// It falls on a client that did not connect.
    Failed,
    /// No samples.
    None,
}

/// `p` (0 to 1) of `ms` and `failed` more clients that did not connect, by nearest rank.
pub fn percentile(ms: &[f64], failed: usize, p: f64) -> Rank {
    let n = ms.len() + failed;
    if n == 0 {
        return Rank::None;
    }
    let mut sorted = ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    match sorted.get(rank - 1) {
        Some(v) => Rank::Ms(*v),
        None => Rank::Failed,
    }
}

/// One fresh client's connect time: TCP, the TLS handshake (mutual, as the intake client), and
/// one Health/Check, ms; or, if it failed or took longer than the limit, how long until then and
/// why.
async fn fresh_client(target: &Target) -> Result<f64, (f64, String)> {
    let started = std::time::Instant::now();
    let connect = async {
        let channel = target.connect().await?;
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?;
        anyhow::Ok(())
    };
    let result = tokio::time::timeout(FRESH_CLIENT_LIMIT, connect).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(Ok(())) => Ok(ms),
        Ok(Err(e)) => Err((ms, format!("{e:#}"))),
        Err(_) => Err((ms, "no answer within the limit".into())),
    }
}

/// Fresh clients' connect times, ms, and how the others failed.
#[derive(Debug, Clone, Default)]
pub struct FreshClients {
    /// Those that connected and answered, ms.
    pub ms: Vec<f64>,
    /// Those that did not: how long until they failed, ms.
    pub failed_ms: Vec<f64>,
    /// The first failure's error.
    pub first_error: Option<String>,
}

/// `samples` fresh clients one after another, spread evenly over `over` (each starts at its
/// turn, or as soon as the one before it is done), and none after `over` plus the limit of one.
async fn fresh_clients(target: &Target, samples: usize, over: Duration) -> FreshClients {
    let began = tokio::time::Instant::now();
    let spacing = over / samples.max(1) as u32;
    let mut out = FreshClients::default();
    for i in 0..samples {
        tokio::time::sleep_until(began + spacing * i as u32).await;
        if began.elapsed() > over + FRESH_CLIENT_LIMIT {
            break;
        }
        match fresh_client(target).await {
            Ok(t) => out.ms.push(t),
            Err((t, why)) => {
                out.failed_ms.push(t);
                out.first_error.get_or_insert(why);
            }
        }
    }
    out
}

/// One attacking connection, again and again until `stop`: from `source`, it connects, sends
/// the first bytes of a ClientHello and nothing more, and waits for the server to close it;
/// then it waits a second and connects again.
async fn attacker(
    source: IpAddr,
    server: SocketAddr,
    counts: Arc<std::sync::Mutex<AttackCounts>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let count = |f: &dyn Fn(&mut AttackCounts)| {
        if let Ok(mut c) = counts.lock() {
            f(&mut c);
        }
    };
    while !*stop.borrow() {
        let connected = async {
            let socket = match source {
                IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            socket.bind(SocketAddr::new(source, 0))?;
            let mut stream = socket.connect(server).await?;
            stream.write_all(&PARTIAL_CLIENT_HELLO).await?;
            std::io::Result::Ok(stream)
        };
        let mut stream = match tokio::time::timeout(Duration::from_secs(10), connected).await {
            Ok(Ok(stream)) => stream,
            _ => {
                count(&|c| c.refused += 1);
                if tokio::time::timeout(Duration::from_secs(1), stop.changed())
                    .await
                    .is_ok()
                {
                    return;
                }
                continue;
            }
        };
        let opened = std::time::Instant::now();
        count(&|c| {
            c.opened += 1;
            c.open_now += 1;
        });
        let mut buf = [0u8; 1024];
        // Whatever the server sends (an alert at most) is read; the connection ends when it
        // closes it or when the attack stops.
        let closed_by_server = loop {
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break true,
                    Ok(_) => {}
                },
                _ = stop.changed() => break false,
            }
        };
        if !closed_by_server {
            return;
        }
        let lasted = opened.elapsed();
        count(&|c| {
            c.open_now -= 1;
            c.closed += 1;
            if lasted < Duration::from_secs(1) {
                c.closed_at_once += 1;
            }
            c.longest_open_ms = c.longest_open_ms.max(lasted.as_millis());
        });
        if tokio::time::timeout(Duration::from_secs(1), stop.changed())
            .await
            .is_ok()
        {
            return;
        }
    }
}

/// Measures a fresh client's connect time (TCP, TLS, one Health/Check, from the default
/// loopback source) `samples` times spread over `over` without an attack, then again while
/// `attackers` connections hold TLS handshakes open without ever finishing them (each opened
/// again a second after the server closes it, so the attack is sustained for `over`, longer than
/// the server's handshake time limit). They come from `sources` consecutive addresses from
/// `source` (round robin); `target` and every source must be loopback addresses. It takes about
/// twice `over`, and at most twice `over` plus a minute.
pub async fn slow_clients(
    target: &Target,
    source: IpAddr,
    sources: usize,
    attackers: usize,
    samples: usize,
    over: Duration,
) -> anyhow::Result<SlowClients> {
    let addresses: Vec<IpAddr> = match source {
        IpAddr::V4(v4) => (0..sources.max(1) as u32)
            .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(u32::from(v4).saturating_add(i))))
            .collect(),
        IpAddr::V6(_) => {
            anyhow::ensure!(sources <= 1, "{source}: one IPv6 loopback address only");
            vec![source]
        }
    };
    for a in &addresses {
        anyhow::ensure!(
            a.is_loopback(),
            "{a}: the attack comes from loopback addresses only"
        );
    }
    crate::runner::services::loopback(&target.addr)?;
    let server = tokio::net::lookup_host(&target.addr)
        .await?
        .find(|a| a.ip().is_loopback() && a.is_ipv4() == source.is_ipv4())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no loopback address of the same family as {source}",
                target.addr
            )
        })?;
    // One fresh client first, untimed, so that neither side pays for what the first one warms.
    let _ = fresh_client(target).await;
    let before = fresh_clients(target, samples, over).await;

    let counts = Arc::new(std::sync::Mutex::new(AttackCounts::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let began = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..attackers {
        let from = addresses[i % addresses.len()];
        tasks.spawn(attacker(from, server, counts.clone(), stopped.clone()));
    }
    // The attack is under way once every attacker has tried its first connection.
    let settle = std::time::Instant::now();
    while settle.elapsed() < Duration::from_secs(10) {
        let tried = counts.lock().map(|c| c.opened + c.refused).unwrap_or(0);
        if tried >= attackers as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = fresh_clients(target, samples, over).await;
    let seconds = began.elapsed().as_secs_f64();
    let open_at_end = counts.lock().map(|c| c.open_now).unwrap_or(0);
    let _ = stop.send(true);
    while tokio::time::timeout(Duration::from_secs(10), tasks.join_next())
        .await
        .ok()
        .flatten()
        .is_some()
    {}
    tasks.abort_all();
    let c = counts
        .lock()
        .map_err(|_| anyhow::anyhow!("attack counts poisoned"))?;
    Ok(SlowClients {
        source,
        sources: addresses.len(),
        attackers,
        seconds,
        over_secs: over.as_secs_f64(),
        before,
        during,
        opened: c.opened,
        refused: c.refused,
        closed: c.closed,
        closed_at_once: c.closed_at_once,
        longest_open_secs: c.longest_open_ms as f64 / 1000.0,
        open_at_end,
    })
}

#[cfg(test)]
mod tests {
    use super::{Rank, percentile};

    #[test]
    fn failed_clients_count_as_slower_than_any_that_connected() {
        let ms = [3.0, 1.0, 2.0];
        assert_eq!(percentile(&ms, 0, 0.5), Rank::Ms(2.0));
        assert_eq!(percentile(&ms, 0, 1.0), Rank::Ms(3.0));
        assert_eq!(percentile(&ms, 1, 0.5), Rank::Ms(2.0));
        assert_eq!(percentile(&ms, 1, 0.9), Rank::Failed);
        assert_eq!(percentile(&ms, 3, 0.5), Rank::Ms(3.0));
        assert_eq!(percentile(&ms, 4, 0.5), Rank::Failed);
        assert_eq!(percentile(&[], 0, 0.5), Rank::None);
        assert_eq!(percentile(&[], 2, 0.1), Rank::Failed);
    }
}
