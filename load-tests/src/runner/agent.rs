//! A simulated signer: a person at a tablet. It signs in as the tablet does, keeps its inbox from
//! the stream, and approves in batches after a person-like service time; it goes away and comes
//! back on schedule, and on a flaky network its connection drops and reconnects.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp, LogNormal};
use signq_kit::tls::ClientTls;
use signq_proto::v1 as pb;
use signq_proto::v1::inbox_client::InboxClient;
use signq_proto::v1::stream_inbox_response::Event;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::clock::Clock;
use super::tracker::Tracker;
use crate::scenario::{ServiceTime, SignerTemplate};

/// Adds the session token to every call.
#[derive(Debug, Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Inbox = InboxClient<InterceptedService<Channel, Bearer>>;

/// One simulated signer's settings.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The signer id.
    pub id: String,
    /// The PIN.
    pub pin: String,
    /// Whether this is a director.
    pub director: bool,
    /// The scenario's template for this signer.
    pub template: SignerTemplate,
    /// The RNG seed.
    pub seed: u64,
}

fn draw(service: &ServiceTime, rng: &mut StdRng) -> f64 {
    match service {
        ServiceTime::Exponential { mean_secs } => Exp::new(1.0 / mean_secs)
            .map(|d| d.sample(rng))
            .unwrap_or(*mean_secs),
        ServiceTime::Lognormal { mean_secs, sd_secs } => {
            let sigma2 = (1.0 + (sd_secs / mean_secs).powi(2)).ln();
            let mu = mean_secs.ln() - sigma2 / 2.0;
            LogNormal::new(mu, sigma2.sqrt())
                .map(|d| d.sample(rng))
                .unwrap_or(*mean_secs)
        }
        ServiceTime::Fixed { secs } => *secs,
    }
}

async fn connect(
    addr: &str,
    tls: &ClientTls,
    agent: &Agent,
) -> anyhow::Result<(Inbox, tonic::Streaming<pb::StreamInboxResponse>)> {
    let channel = super::services::channel(addr, tls).await?;
    let session = InboxClient::new(channel.clone())
        .open_session(pb::OpenSessionRequest {
            signer_id: agent.id.clone(),
            pin: agent.pin.clone(),
        })
        .await?
        .into_inner()
        .session
        .ok_or_else(|| anyhow::anyhow!("OpenSession answered without a session"))?;
    let token = format!("Bearer {}", session.token)
        .parse()
        .map_err(|_| anyhow::anyhow!("token"))?;
    let mut inbox = InboxClient::with_interceptor(channel, Bearer(token));
    let stream = inbox
        .stream_inbox(pb::StreamInboxRequest {})
        .await?
        .into_inner();
    Ok((inbox, stream))
}

fn apply(event: Event, held: &mut BTreeMap<(i64, String), ()>, tracker: &Tracker, clock: &Clock) {
    match event {
        Event::Snapshot(s) => {
            held.clear();
            for r in s.records {
                tracker.leased(&r.id, clock.now(), r.escalated);
                held.insert((r.deadline.map(|d| d.seconds).unwrap_or(0), r.id), ());
            }
        }
        Event::Leased(r) => {
            tracker.leased(&r.id, clock.now(), r.escalated);
            held.insert((r.deadline.map(|d| d.seconds).unwrap_or(0), r.id), ());
        }
        Event::Ended(e) => {
            tracker.lease_ended(&e.record_id, &e.reason);
            held.retain(|(_, id), _| *id != e.record_id);
        }
    }
}

/// Runs the signer until virtual second `end`.
pub async fn run(
    agent: Agent,
    addr: String,
    tls: ClientTls,
    clock: Clock,
    end: f64,
    tracker: Arc<Tracker>,
) {
    let mut rng = StdRng::seed_from_u64(agent.seed);
    let t = &agent.template;
    let drops = (t.disconnect_every_secs > 0.0)
        .then(|| Exp::new(1.0 / t.disconnect_every_secs).ok())
        .flatten();
    let mut next_drop = drops.map(|d| d.sample(&mut rng)).unwrap_or(f64::INFINITY);
    let mut held: BTreeMap<(i64, String), ()> = BTreeMap::new();
    'session: while clock.now() < end {
        let Ok((mut inbox, mut stream)) = connect(&addr, &tls, &agent).await else {
            tracker.with(|o| o.errors += 1);
            tokio::time::sleep(clock.real(5.0)).await;
            continue;
        };
        loop {
            let now = clock.now();
            if now >= end {
                return;
            }
            // Away: tell the scheduler, wait out the period, come back.
            if let Some(&(_, back)) = t.away.iter().find(|(from, to)| *from <= now && now < *to) {
                let _ = inbox.set_away(pb::SetAwayRequest { away: true }).await;
                held.clear();
                tokio::time::sleep_until(clock.at(back.min(end))).await;
                let _ = inbox.set_away(pb::SetAwayRequest { away: false }).await;
                continue 'session;
            }
            // The network drops: gone for a while, then a new connection and a fresh snapshot.
            if now >= next_drop {
                drop(stream);
                drop(inbox);
                tokio::time::sleep(clock.real(t.reconnect_after_secs)).await;
                next_drop =
                    clock.now() + drops.map(|d| d.sample(&mut rng)).unwrap_or(f64::INFINITY);
                continue 'session;
            }
            // Take in whatever the stream has for us.
            while let Ok(Some(Ok(msg))) =
                tokio::time::timeout(std::time::Duration::ZERO, stream.message())
                    .await
                    .map(|m| m.transpose())
            {
                if let Some(event) = msg.event {
                    apply(event, &mut held, &tracker, &clock);
                }
            }
            if held.is_empty() {
                let wait = clock.real(30.0).min(std::time::Duration::from_millis(200));
                match tokio::time::timeout(wait, stream.message()).await {
                    Ok(Ok(Some(msg))) => {
                        if let Some(event) = msg.event {
                            apply(event, &mut held, &tracker, &clock);
                        }
                    }
                    Ok(Ok(None)) | Ok(Err(_)) => continue 'session,
                    Err(_) => {}
                }
                continue;
            }
            // Read and sign a batch, earliest deadline first.
            let batch: Vec<String> = held
                .keys()
                .take(t.batch)
                .map(|(_, id)| id.clone())
                .collect();
            let work: f64 = batch.iter().map(|_| draw(&t.service, &mut rng)).sum();
            tokio::time::sleep(clock.real(work)).await;
            match inbox
                .approve(pb::ApproveRequest {
                    record_ids: batch.clone(),
                    pin: agent.pin.clone(),
                })
                .await
            {
                Ok(reply) => {
                    let at = clock.now();
                    for r in reply.into_inner().records {
                        tracker.signed(&r.id, at, agent.director);
                    }
                }
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    tracker.with(|o| o.rate_limited += 1)
                }
                Err(_) => tracker.with(|o| o.errors += 1),
            }
            held.retain(|(_, id), _| !batch.contains(id));
        }
    }
}
