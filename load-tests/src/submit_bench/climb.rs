//! Each side's climb: a ladder of offered rates (open loop) until its own knee, narrowed by
//! bisection, and the calls each step makes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use signq_proto::v1::intake_client::IntakeClient;
use signq_proto::v1::{Priority, SubmitRequest};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::open_loop::{self, Outcome, RunFigures};

use super::json::{JsonClient, JsonReply};
use super::{Call, Target};

/// How each side's offered rate climbs to its knee.
#[derive(Debug, Clone)]
pub struct Ladder {
    /// The first offered rate, requests per second.
    pub start_rate: f64,
    /// The highest rate ever offered.
    pub max_rate: f64,
    /// The factor between one rate and the next (above 1).
    pub step: f64,
    /// Bisections of the bracket around the knee once it is crossed.
    pub refine: usize,
    /// The most rates run per side, climbing and bisecting together.
    pub max_steps: usize,
    /// A rate is past the knee when throughput falls below this share of it.
    pub knee: f64,
    /// ... or when more than this share of its calls are shed, fail or cannot be sent (0: any).
    pub tolerate: f64,
    /// Seconds of load per rate.
    pub seconds: f64,
    /// Requests in flight at once from the generator, at most.
    pub max_outstanding: usize,
}

impl Ladder {
    /// Refuses settings that would not climb or not end.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.start_rate.is_finite() && self.start_rate >= 1.0,
            "--start-rate {}: at least 1 a second",
            self.start_rate
        );
        anyhow::ensure!(
            self.max_rate.is_finite() && self.max_rate >= self.start_rate,
            "--max-rate {}: at least the start rate",
            self.max_rate
        );
        anyhow::ensure!(
            self.step.is_finite() && self.step > 1.0,
            "--step {}: a factor above 1",
            self.step
        );
        anyhow::ensure!(
            self.knee > 0.0 && self.knee <= 1.0,
            "--knee {}: a share in (0, 1]",
            self.knee
        );
        anyhow::ensure!(
            self.seconds.is_finite() && self.seconds > 0.0,
            "--seconds {}: a positive duration",
            self.seconds
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.tolerate),
            "--tolerate {}: a share in [0, 1)",
            self.tolerate
        );
        anyhow::ensure!(self.max_steps >= 1, "--max-steps: at least 1");
        Ok(())
    }

    /// The most requests one side can send.
    pub fn max_requests_per_side(&self) -> u64 {
        (self.max_steps as f64 * self.max_rate * self.seconds).ceil() as u64
    }

    /// Whether a run is past the knee: too little throughput, or more calls shed, failed or
    /// unsent than tolerated (by default any).
    pub fn past_knee(&self, f: &RunFigures) -> bool {
        let refused = f.shed + f.failed + f.not_sent;
        f.throughput < self.knee * f.offered
            || (refused > 0 && refused as f64 > self.tolerate * f.scheduled as f64)
    }
}

/// One rate run on one side.
#[derive(Debug, Clone)]
pub struct Step {
    /// What it measured.
    pub figures: RunFigures,
    /// Whether it was past the knee.
    pub past_knee: bool,
    /// Calls that failed other than by shedding, by code.
    pub failures: BTreeMap<String, u64>,
}

/// One side's climb.
#[derive(Debug, Clone)]
pub struct Side {
    /// The call.
    pub call: Call,
    /// Every rate run, in the order run.
    pub steps: Vec<Step>,
    /// The highest throughput sustained below the knee (0 if none was).
    pub knee: f64,
    /// The lowest offered rate found past the knee; `None` if the climb ended (at the maximum
    /// rate or the maximum number of steps) without reaching it, so `knee` is a lower bound.
    pub knee_rate: Option<f64>,
}

type Pending = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// The benchmark's connections and request material.
#[derive(Debug, Clone)]
pub struct Bench {
    channels: Arc<[Channel]>,
    document: Arc<[u8]>,
    run_id: u64,
    /// The HTTP/1.1 client of the JSON side, if it is measured.
    json: Option<JsonClient>,
}

impl Bench {
    /// A benchmark over `connections` new connections to `target`, with `document_bytes` per
    /// submitted document.
    pub async fn new(
        target: &Target,
        connections: usize,
        document_bytes: usize,
    ) -> anyhow::Result<Bench> {
        Ok(Bench {
            channels: target.connections(connections).await?.into(),
            document: vec![0x25_u8; document_bytes].into(),
            run_id: rand_id(),
            json: None,
        })
    }

    /// A benchmark over `connections` new connections to each of `targets` (replicas behind
    /// one address, as a load balancer spreads calls), taking turns.
    pub async fn spread(
        targets: &[Target],
        connections: usize,
        document_bytes: usize,
    ) -> anyhow::Result<Bench> {
        let mut each = Vec::new();
        for target in targets {
            each.push(target.connections(connections).await?);
        }
        let mut channels = Vec::new();
        for i in 0..connections.max(1) {
            channels.extend(each.iter().filter_map(|c| c.get(i).cloned()));
        }
        Ok(Bench {
            channels: channels.into(),
            document: vec![0x25_u8; document_bytes].into(),
            run_id: rand_id(),
            json: None,
        })
    }

    /// The same benchmark, able to submit as JSON over HTTP/1.1 too ([`Call::SubmitJson`]).
    pub fn with_json(self, json: JsonClient) -> Bench {
        Bench {
            json: Some(json),
            ..self
        }
    }

    /// The connections.
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// The same requests over other connections (the overload's).
    pub fn over(&self, channels: Vec<Channel>) -> Bench {
        Bench {
            channels: channels.into(),
            ..self.clone()
        }
    }

    /// Makes request `i` of a run tagged `tag` (idempotency keys unique per run and tag).
    fn requests(
        &self,
        call: Call,
        tag: String,
        failures: Failures,
    ) -> impl Fn(u64) -> Pending + use<> {
        let (channels, document, run_id, json) = (
            self.channels.clone(),
            self.document.clone(),
            self.run_id,
            self.json.clone(),
        );
        move |i| -> Pending {
            let failures = failures.clone();
            let channel = channels[i as usize % channels.len()].clone();
            match call {
                Call::Submit => {
                    let mut client = IntakeClient::new(channel);
                    let request = SubmitRequest {
                        ward: "cat-lai".into(),
                        procedure_code: "HT-KS".into(),
                        title: format!("Khai sinh {i}"),
                        document: document.to_vec(),
                        deadline: None,
                        priority: Priority::Normal as i32,
                        idempotency_key: format!("bench-{run_id}-{tag}-{i}"),
                        signature_place: None,
                    };
                    Box::pin(
                        async move { outcome(within(client.submit(request)).await, &failures) },
                    )
                }
                Call::SubmitJson => {
                    let json = json.clone();
                    let key = format!("bench-{run_id}-{tag}-{i}");
                    Box::pin(async move {
                        let Some(json) = json else {
                            return json_outcome(
                                JsonReply::Failed("no JSON client".into()),
                                &failures,
                            );
                        };
                        json_outcome(
                            json.submit(&format!("Khai sinh {i}"), &key).await,
                            &failures,
                        )
                    })
                }
                Call::Check => {
                    let mut client = HealthClient::new(channel);
                    Box::pin(async move {
                        outcome(
                            within(client.check(HealthCheckRequest {
                                service: String::new(),
                            }))
                            .await,
                            &failures,
                        )
                    })
                }
            }
        }
    }

    /// One run of `call` at `rate` for `seconds`, with the calls that failed other than by
    /// shedding, by code.
    pub async fn run(
        &self,
        call: Call,
        rate: f64,
        seconds: f64,
        max_outstanding: usize,
        tag: &str,
    ) -> anyhow::Result<(RunFigures, BTreeMap<String, u64>)> {
        let failures = Failures::default();
        let figures = open_loop::run(
            rate,
            Duration::from_secs_f64(seconds),
            max_outstanding,
            self.requests(call, tag.to_string(), failures.clone()),
        )
        .await?;
        let failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
        Ok((figures, failures))
    }

    /// Runs one rate of a climb and adds it to `steps`; returns whether it was past the knee.
    async fn step(
        &self,
        call: Call,
        ladder: &Ladder,
        rate: f64,
        steps: &mut Vec<Step>,
        progress: &mut dyn FnMut(&Step),
    ) -> anyhow::Result<bool> {
        if !steps.is_empty() {
            // Let the previous step's backlog (the writer's, the sockets') drain first.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let prefix = match call {
            Call::Submit => "s",
            Call::SubmitJson => "j",
            Call::Check => "c",
        };
        let tag = format!("{prefix}{}", steps.len());
        let (figures, failures) = self
            .run(call, rate, ladder.seconds, ladder.max_outstanding, &tag)
            .await?;
        let step = Step {
            past_knee: ladder.past_knee(&figures),
            figures,
            failures,
        };
        progress(&step);
        let past = step.past_knee;
        steps.push(step);
        Ok(past)
    }

    /// Climbs `ladder` with `call` to its knee; `progress` sees each step as it ends.
    pub async fn find_knee(
        &self,
        call: Call,
        ladder: &Ladder,
        progress: &mut dyn FnMut(&Step),
    ) -> anyhow::Result<Side> {
        ladder.validate()?;
        anyhow::ensure!(
            call != Call::SubmitJson || self.json.is_some(),
            "the JSON side needs a JSON client (Bench::with_json)"
        );
        let mut steps: Vec<Step> = Vec::new();
        let (mut good, mut bad): (Option<f64>, Option<f64>) = (None, None);
        // Climb until the knee, the maximum rate or the maximum number of steps.
        let mut rate = ladder.start_rate;
        while steps.len() < ladder.max_steps {
            if self.step(call, ladder, rate, &mut steps, progress).await? {
                bad = Some(rate);
                break;
            }
            good = Some(rate);
            if rate >= ladder.max_rate {
                break;
            }
            rate = (rate * ladder.step).min(ladder.max_rate);
        }
        // Already past the knee at the start rate: step down until a rate is sustained.
        while let (None, Some(b)) = (good, bad) {
            let rate = b / ladder.step;
            if steps.len() >= ladder.max_steps || rate < 1.0 {
                break;
            }
            if self.step(call, ladder, rate, &mut steps, progress).await? {
                bad = Some(rate);
            } else {
                good = Some(rate);
            }
        }
        // Narrow the bracket by geometric bisection.
        for _ in 0..ladder.refine {
            let (Some(g), Some(b)) = (good, bad) else {
                break;
            };
            if steps.len() >= ladder.max_steps || b / g < 1.01 {
                break;
            }
            let mid = (g * b).sqrt();
            if self.step(call, ladder, mid, &mut steps, progress).await? {
                bad = Some(mid);
            } else {
                good = Some(mid);
            }
        }
        let knee = steps
            .iter()
            .filter(|s| !s.past_knee)
            .map(|s| s.figures.throughput)
            .fold(0.0, f64::max);
        Ok(Side {
            call,
            steps,
            knee,
            knee_rate: bad,
        })
    }
}

/// How long the generator waits for any answer: a server that never answers still lets a run end.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `call`, or DEADLINE_EXCEEDED once [`REQUEST_TIMEOUT`] has passed without an answer.
pub(super) async fn within<T>(
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, tonic::Status> {
    tokio::time::timeout(REQUEST_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(tonic::Status::deadline_exceeded(
                "no answer within the load generator's time limit",
            ))
        })
}

/// Calls that failed other than by shedding, by gRPC code.
type Failures = Arc<std::sync::Mutex<BTreeMap<String, u64>>>;

fn outcome<T>(reply: Result<T, tonic::Status>, failures: &Failures) -> Outcome {
    match reply {
        Ok(_) => Outcome::Ok,
        Err(s) if s.code() == tonic::Code::ResourceExhausted => Outcome::Shed,
        Err(s) => {
            if let Ok(mut f) = failures.lock() {
                *f.entry(format!("{:?}", s.code())).or_default() += 1;
            }
            Outcome::Failed
        }
    }
}

fn json_outcome(reply: JsonReply, failures: &Failures) -> Outcome {
    match reply {
        JsonReply::Ok => Outcome::Ok,
        JsonReply::Shed => Outcome::Shed,
        JsonReply::Failed(code) => {
            if let Ok(mut f) = failures.lock() {
                *f.entry(code).or_default() += 1;
            }
            Outcome::Failed
        }
    }
}

fn rand_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
