//! Early binding: every policy assigns only eligible signers (deputies before the director);
//! round robin rotates, JSQ balances, LET learns service times, random is reproducible per seed.

use std::time::Duration as StdDuration;

use super::*;

const EARLY: [Policy; 4] = [
    Policy::RoundRobin,
    Policy::Random,
    Policy::JoinShortestQueue,
    Policy::LeastExpectedTime,
];

/// d1: HT-KS; d2: CT-BS; d3: HT-KS and CT-BS; DD-01 is director-only.
fn scoped(policy: Policy) -> Balancer {
    let mut b = ward_w(config(policy));
    b.set_delegations(
        "w",
        vec![
            delegation("g1", "w", "w/d1", &["HT-KS"], 0),
            delegation("g2", "w", "w/d2", &["CT-BS"], 0),
            delegation("g3", "w", "w/d3", &["HT-KS", "CT-BS"], 0),
        ],
    );
    b
}

fn all_deputies(policy: Policy) -> Balancer {
    let mut b = ward_w(config(policy));
    b.set_delegations(
        "w",
        ["w/d1", "w/d2", "w/d3"]
            .iter()
            .enumerate()
            .map(|(i, d)| delegation(&format!("g{i}"), "w", d, &["HT-KS"], 0))
            .collect(),
    );
    b
}

fn submit(b: &mut Balancer, id: &str, procedure: &str) -> Option<String> {
    b.enqueue(entry(id, "w", procedure, t0() + hours(24), t0()), t0())
}

#[test]
fn every_policy_assigns_only_eligible_signers() {
    for policy in EARLY {
        let mut b = scoped(policy);
        for i in 0..30 {
            let procedure = ["HT-KS", "CT-BS", "DD-01"][i % 3];
            let id = format!("r{i}");
            let chosen = submit(&mut b, &id, procedure);
            let allowed: &[&str] = match procedure {
                "HT-KS" => &["w/d1", "w/d3"],
                "CT-BS" => &["w/d2", "w/d3"],
                _ => &["w/dir"],
            };
            let chosen = chosen.unwrap_or_default();
            assert!(
                allowed.contains(&chosen.as_str()),
                "{policy}: {id} ({procedure}) went to {chosen:?}"
            );
            assert_eq!(b.eligible_signers(&id, t0()), [chosen], "{policy}");
        }
        assert_eq!(b.pool_depth("w"), 30);
        assert_eq!(
            b.queued_for("w/dir"),
            10,
            "{policy}: the director gets only the director-only records"
        );
        for signer in ["w/dir", "w/d1", "w/d2", "w/d3"] {
            let queued = b.queued_for(signer);
            let got = b.take(signer, 100, t0());
            assert_eq!(
                got.len(),
                queued.min(10),
                "{policy}: {signer} takes from its own queue only"
            );
            assert!(got.iter().all(|g| !g.escalated));
        }
        assert!(b.at_risk("w", t0()).is_empty());
    }
}

#[test]
fn round_robin_rotates_over_eligible_signers() {
    let mut b = all_deputies(Policy::RoundRobin);
    let got: Vec<_> = (0..7)
        .map(|i| submit(&mut b, &format!("r{i}"), "HT-KS").unwrap_or_default())
        .collect();
    assert_eq!(
        got,
        ["w/d1", "w/d2", "w/d3", "w/d1", "w/d2", "w/d3", "w/d1"]
    );
    // d2 goes away: the rotation skips it, and its queue returns to the pool.
    let mut away = view("w/d2", "w", SignerRole::Deputy);
    away.away = true;
    b.upsert_signer(away);
    assert_eq!(b.queued_for("w/d2"), 0);
    let got: Vec<_> = (7..10)
        .map(|i| submit(&mut b, &format!("r{i}"), "HT-KS").unwrap_or_default())
        .collect();
    assert_eq!(got, ["w/d3", "w/d1", "w/d3"]);
    // The pool's records (d2's former queue) are adopted by the next deputy that takes.
    assert_eq!(b.pool_depth("w"), 10);
    let got = b.take("w/d3", 10, t0());
    assert_eq!(
        got.len(),
        6,
        "its 4 queued records plus the 2 adopted from the pool"
    );
    assert_eq!(b.queued_for("w/d3"), 0);
}

#[test]
fn jsq_balances_queue_plus_leased() {
    let mut b = all_deputies(Policy::JoinShortestQueue);
    for i in 0..9 {
        submit(&mut b, &format!("r{i}"), "HT-KS");
    }
    assert_eq!(
        [
            b.queued_for("w/d1"),
            b.queued_for("w/d2"),
            b.queued_for("w/d3")
        ],
        [3, 3, 3]
    );
    let taken = b.take("w/d2", 10, t0());
    assert_eq!(
        (taken.len(), b.leased_count("w/d2"), b.queued_for("w/d2")),
        (3, 3, 0)
    );
    assert_eq!(
        submit(&mut b, "x", "HT-KS").as_deref(),
        Some("w/d1"),
        "leased records count: a tie, lowest id"
    );
    b.note_signed(&taken[0].id, "w/d2", Some("g1"), StdDuration::from_secs(60));
    assert_eq!(
        submit(&mut b, "y", "HT-KS").as_deref(),
        Some("w/d2"),
        "loads 4, 2, 3"
    );
    assert_eq!(
        submit(&mut b, "z", "HT-KS").as_deref(),
        Some("w/d2"),
        "loads 4, 3, 3: tie, lowest id"
    );
    assert_eq!(
        submit(&mut b, "q", "HT-KS").as_deref(),
        Some("w/d3"),
        "loads 4, 4, 3"
    );
}

#[test]
fn let_prefers_the_faster_signer_once_learned() {
    let mut b = all_deputies(Policy::LeastExpectedTime);
    let mut away = view("w/d3", "w", SignerRole::Deputy);
    away.away = true;
    b.upsert_signer(away);
    // Before learning, LET is JSQ with the prior: alternate.
    assert_eq!(submit(&mut b, "a", "HT-KS").as_deref(), Some("w/d1"));
    assert_eq!(submit(&mut b, "b", "HT-KS").as_deref(), Some("w/d2"));
    b.remove("a");
    b.remove("b");
    for _ in 0..20 {
        b.note_signed("gone", "w/d1", None, StdDuration::from_secs(300));
        b.note_signed("gone", "w/d2", None, StdDuration::from_secs(30));
    }
    let got: Vec<_> = (0..11)
        .map(|i| submit(&mut b, &format!("r{i}"), "HT-KS").unwrap_or_default())
        .collect();
    let to_fast = got.iter().filter(|s| *s == "w/d2").count();
    assert_eq!(got[0], "w/d2");
    assert!(to_fast >= 9, "the 10x faster signer gets most: {got:?}");
    // JSQ on the same history would split evenly.
    let mut jsq = all_deputies(Policy::JoinShortestQueue);
    let mut away = view("w/d3", "w", SignerRole::Deputy);
    away.away = true;
    jsq.upsert_signer(away);
    for i in 0..10 {
        submit(&mut jsq, &format!("r{i}"), "HT-KS");
    }
    assert_eq!((jsq.queued_for("w/d1"), jsq.queued_for("w/d2")), (5, 5));
}

#[test]
fn random_is_reproducible_per_seed() {
    let run = |seed: u64| {
        let mut b = ward_w(BalancerConfig {
            seed,
            ..config(Policy::Random)
        });
        b.set_delegations(
            "w",
            ["w/d1", "w/d2", "w/d3"]
                .iter()
                .map(|d| delegation(&format!("g-{d}"), "w", d, &["HT-KS"], 0))
                .collect(),
        );
        (0..40)
            .map(|i| submit(&mut b, &format!("r{i}"), "HT-KS").unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
    for d in ["w/d1", "w/d2", "w/d3"] {
        assert!(a.iter().any(|s| s == d), "uniform over all three: {a:?}");
    }
    assert!(!a.iter().any(|s| s == "w/dir"), "deputies first");
}

#[test]
fn nobody_eligible_waits_in_the_pool_until_someone_takes() {
    let mut b = scoped(Policy::JoinShortestQueue);
    let mut away = view("w/dir", "w", SignerRole::Director);
    away.away = true;
    b.upsert_signer(away.clone());
    assert_eq!(submit(&mut b, "land", "DD-01"), None);
    assert_eq!(b.pool_depth("w"), 1);
    assert!(
        b.take("w/d3", 10, t0()).is_empty(),
        "a deputy may not adopt a director-only record"
    );
    assert!(b.eligible_signers("land", t0()).is_empty());
    away.away = false;
    b.upsert_signer(away);
    assert_eq!(b.eligible_signers("land", t0()), ["w/dir"]);
    assert_eq!(
        b.take("w/dir", 10, t0()),
        [Grant {
            id: "land".into(),
            escalated: false
        }]
    );
    assert_eq!(b.pool_depth("w"), 0);
}

#[test]
fn release_never_returns_to_an_offline_or_away_signer() {
    let mut b = all_deputies(Policy::RoundRobin);
    assert_eq!(submit(&mut b, "a", "HT-KS").as_deref(), Some("w/d1"));
    assert_eq!(ids(&b.take("w/d1", 10, t0())), ["a"]);
    // Online and still eligible: the policy may pick the same signer again (round robin: d2).
    assert_eq!(b.release("a", t0()).as_deref(), Some("w/d2"));
    assert_eq!(ids(&b.take("w/d2", 10, t0())), ["a"]);
    let mut offline = view("w/d2", "w", SignerRole::Deputy);
    offline.online = false;
    b.upsert_signer(offline);
    for _ in 0..3 {
        let to = b.release("a", t0()).unwrap_or_default();
        assert_ne!(to, "w/d2");
        b.mark_leased("a", "w/d2");
    }
    assert_eq!(b.leased_count("w/d2"), 1);
    assert_eq!(b.queued_for("w/d1") + b.queued_for("w/d3"), 0);
}

#[test]
fn queued_records_a_deputy_can_no_longer_sign_are_rechosen() {
    let mut b = all_deputies(Policy::RoundRobin);
    submit(&mut b, "a", "HT-KS"); // d1
    submit(&mut b, "b", "HT-KS"); // d2
    // d1's delegation is revoked: its queue returns to the pool.
    let mut ds = vec![
        delegation("g1", "w", "w/d2", &["HT-KS"], 0),
        delegation("g2", "w", "w/d3", &["HT-KS"], 0),
    ];
    let mut revoked = delegation("g0", "w", "w/d1", &["HT-KS"], 0);
    revoked.revoked_at = Some(t0());
    ds.push(revoked);
    b.set_delegations("w", ds);
    assert_eq!((b.queued_for("w/d1"), b.pool_depth("w")), (0, 2));
    assert!(b.take("w/d1", 10, t0()).is_empty());
    assert_eq!(
        ids(&b.take("w/d3", 10, t0())),
        ["a"],
        "adopted from the pool"
    );
    // A cap reached after assignment: at take the record is re-chosen.
    let mut capped = all_deputies(Policy::RoundRobin);
    capped.set_delegations(
        "w",
        vec![
            delegation("g", "w", "w/d1", &["HT-KS"], 2),
            delegation("h", "w", "w/d2", &["HT-KS"], 0),
        ],
    );
    assert_eq!(submit(&mut capped, "x", "HT-KS").as_deref(), Some("w/d1"));
    assert_eq!(submit(&mut capped, "y", "HT-KS").as_deref(), Some("w/d2"));
    assert_eq!(submit(&mut capped, "z", "HT-KS").as_deref(), Some("w/d1"));
    assert_eq!(
        submit(&mut capped, "q", "HT-KS").as_deref(),
        Some("w/d2"),
        "d1 full: 2 queued under cap 2"
    );
    capped.set_used_today("g", 1);
    assert_eq!(
        ids(&capped.take("w/d1", 10, t0())),
        ["x"],
        "1 used: one more only"
    );
    assert_eq!(capped.queued_for("w/d2"), 3, "z re-chosen to d2");
    assert_eq!(charged(&capped, "x").as_deref(), Some("g"));
}
