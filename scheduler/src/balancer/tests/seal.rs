//! The seal stage: records waiting for the ward's seal go to its clerks only, under every
//! policy, and clerks take nothing else.

use super::*;

/// Ward `w` of [`ward_w`] with a clerk `w/clerk`, under `policy`.
fn with_clerk(policy: Policy) -> Balancer {
    let mut b = ward_w(config(policy));
    b.upsert_signer(view("w/clerk", "w", SignerRole::Clerk));
    b.set_delegations("w", vec![delegation("del", "w", "w/d1", &["HT-KS"], 0)]);
    b
}

fn sealing(id: &str, deadline: OffsetDateTime) -> Entry {
    Entry {
        stage: Stage::Seal,
        ..entry(id, "w", "HT-KS", deadline, t0())
    }
}

#[test]
fn only_clerks_take_records_waiting_for_the_seal_under_every_policy() {
    for policy in [
        Policy::LateBinding,
        Policy::RoundRobin,
        Policy::JoinShortestQueue,
    ] {
        let mut b = with_clerk(policy);
        let now = t0();
        // The later deadline is taken after the earlier one.
        b.enqueue(sealing("late", t0() + hours(10)), now);
        b.enqueue(sealing("soon", t0() + hours(1)), now);
        b.enqueue(entry("person", "w", "HT-KS", t0() + hours(2), t0()), now);
        assert_eq!(b.seal_depth("w"), 2, "{policy:?}");
        assert_eq!(b.pool_depth("w"), 3, "{policy:?}");
        assert_eq!(b.eligible_signers("soon", now), ["w/clerk"], "{policy:?}");
        for person in ["w/dir", "w/d1", "w/d2"] {
            let got = b.take(person, 10, now);
            assert!(
                !ids(&got).iter().any(|id| *id != "person"),
                "{policy:?}: {person} took {got:?}"
            );
        }
        let got = b.take("w/clerk", 10, now);
        assert_eq!(ids(&got), ["soon", "late"], "{policy:?}");
        assert_eq!(b.seal_depth("w"), 0, "{policy:?}");
        assert_eq!(b.leased_count("w/clerk"), 2, "{policy:?}");
        // A released seal goes back to the clerks' pool, whatever the policy.
        b.release("soon", now);
        assert_eq!(b.seal_depth("w"), 1, "{policy:?}");
        assert_eq!(ids(&b.take("w/clerk", 10, now)), ["soon"], "{policy:?}");
    }
}

#[test]
fn a_clerk_takes_no_persons_record_and_an_away_clerk_nothing() {
    let mut b = with_clerk(Policy::LateBinding);
    let now = t0();
    b.enqueue(entry("person", "w", "DD-BD", t0() + hours(1), t0()), now);
    assert!(b.take("w/clerk", 10, now).is_empty());
    b.enqueue(sealing("seal", t0() + hours(1)), now);
    b.upsert_signer(SignerView {
        away: true,
        ..view("w/clerk", "w", SignerRole::Clerk)
    });
    assert!(b.take("w/clerk", 10, now).is_empty());
    assert!(b.eligible_signers("seal", now).is_empty());
    // Nor does the deadline guard hand a seal to the director.
    assert!(
        b.at_risk("w", t0() + hours(2))
            .iter()
            .all(|id| id != "seal")
    );
}
