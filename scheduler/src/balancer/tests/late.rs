//! Late binding: pool order with aging, eligibility (scope, window, cap, revocation, away),
//! director last with the deadline guard, `at_risk`, lease size, release.

use std::time::Duration as StdDuration;

use super::*;

#[test]
fn policy_names_round_trip() {
    for policy in Policy::ALL {
        assert_eq!(policy.to_string().parse::<Policy>(), Ok(policy));
    }
    assert_eq!("JSQ".parse::<Policy>(), Ok(Policy::JoinShortestQueue));
    assert_eq!(
        "least-expected-time".parse::<Policy>(),
        Ok(Policy::LeastExpectedTime)
    );
    assert!("fifo".parse::<Policy>().is_err());
    assert_eq!(Policy::default(), Policy::LateBinding);
    let c = BalancerConfig::default();
    assert_eq!(
        (
            c.lease_size,
            c.director_guard.as_secs(),
            c.aging_per_hour.as_secs()
        ),
        (10, 7200, 360)
    );
}

#[test]
fn pool_orders_by_deadline_priority_submission_and_id() {
    let mut b = ward_w(config(Policy::LateBinding));
    let now = t0();
    let mut add = |id: &str, deadline_h: i64, priority: Priority, submitted_min: i64| {
        let mut e = entry(
            id,
            "w",
            "X",
            now + hours(deadline_h),
            now + Duration::minutes(submitted_min),
        );
        e.priority = priority;
        assert_eq!(b.enqueue(e, now), None);
    };
    add("normal-10h", 10, Priority::Normal, 0);
    add("normal-5h", 5, Priority::Normal, 0);
    add("urgent-10h", 10, Priority::Urgent, 0); // 10 h − 2 h bonus
    add("high-10h", 10, Priority::High, 0); // 10 h − 30 min bonus
    add("normal-10h-b", 10, Priority::Normal, 0); // same key and time as normal-10h: by id
    add("urgent-11h", 11, Priority::Urgent, 0); // 9 h effective, after urgent-10h
    add("high-10h-later", 10, Priority::High, 1); // slightly later, so slightly less aged
    assert_eq!(b.pool_depth("w"), 7);
    assert_eq!(b.oldest_queued("w"), Some(now));
    let got = b.take("w/dir", 10, now);
    assert_eq!(
        ids(&got),
        [
            "normal-5h",
            "urgent-10h",
            "urgent-11h",
            "high-10h",
            "high-10h-later",
            "normal-10h",
            "normal-10h-b"
        ]
    );
    assert!(
        got.iter().all(|g| !g.escalated),
        "no deputy may sign X: director-only, not escalated"
    );
    assert_eq!(b.pool_depth("w"), 0);
    assert_eq!(b.oldest_queued("w"), None);
}

#[test]
fn aging_lets_an_old_far_record_overtake_only_after_enough_waiting() {
    // 6 min per hour waited: a record submitted 80 h earlier gains 8 h on a newer one.
    let run = |newer_submitted_h: i64| {
        let mut b = ward_w(config(Policy::LateBinding));
        let old = entry("old", "w", "X", t0() + hours(200), t0());
        let newer = entry(
            "newer",
            "w",
            "X",
            t0() + hours(192),
            t0() + hours(newer_submitted_h),
        );
        let now = t0() + hours(newer_submitted_h + 1);
        b.enqueue(old, t0());
        b.enqueue(newer, now);
        b.take("w/dir", 10, now)
            .into_iter()
            .map(|g| g.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(70),
        ["newer", "old"],
        "waited 70 h more: 7 h of aging < 8 h of deadline gap"
    );
    assert_eq!(
        run(90),
        ["old", "newer"],
        "waited 90 h more: 9 h of aging > 8 h of deadline gap"
    );

    let mut no_aging = config(Policy::LateBinding);
    no_aging.aging_per_hour = StdDuration::ZERO;
    let mut b = ward_w(no_aging);
    b.enqueue(entry("old", "w", "X", t0() + hours(200), t0()), t0());
    b.enqueue(
        entry("newer", "w", "X", t0() + hours(192), t0() + hours(90)),
        t0(),
    );
    assert_eq!(
        ids(&b.take("w/dir", 10, t0() + hours(91))),
        ["newer", "old"],
        "without aging: deadline"
    );
}

#[test]
fn deputy_gets_only_records_in_scope() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations(
        "w",
        vec![delegation("g1", "w", "w/d1", &["HT-KS", "HT-KH"], 0)],
    );
    let now = t0();
    for (id, procedure) in [
        ("a", "HT-KS"),
        ("b", "CT-BS"),
        ("c", "HT-KH"),
        ("d", "DD-01"),
    ] {
        b.enqueue(entry(id, "w", procedure, now + hours(24), now), now);
    }
    assert_eq!(ids(&b.take("w/d1", 10, now)), ["a", "c"]);
    assert!(b.take("w/d2", 10, now).is_empty(), "d2 holds no delegation");
    assert_eq!(b.eligible_signers("b", now), ["w/dir"]);
    assert_eq!(ids(&b.take("w/dir", 10, now)), ["b", "d"]);
    assert_eq!(b.leased_count("w/d1"), 2);
    assert_eq!(b.leased_count("w/dir"), 2);
}

#[test]
fn deputy_gets_nothing_outside_the_validity_window() {
    let mut b = ward_w(config(Policy::LateBinding));
    let mut g = delegation("g1", "w", "w/d1", &["HT-KS"], 0);
    g.not_before = t0() + hours(1);
    g.not_after = t0() + hours(3);
    b.set_delegations("w", vec![g]);
    b.enqueue(entry("a", "w", "HT-KS", t0() + hours(48), t0()), t0());
    b.enqueue(entry("b", "w", "HT-KS", t0() + hours(48), t0()), t0());
    assert!(b.take("w/d1", 10, t0()).is_empty(), "not yet valid");
    assert_eq!(
        ids(&b.take("w/d1", 1, t0() + hours(1))),
        ["a"],
        "valid from not_before"
    );
    assert!(
        b.take("w/d1", 10, t0() + hours(3)).is_empty(),
        "not_after is exclusive"
    );
    assert_eq!(b.eligible_signers("b", t0() + hours(3)), ["w/dir"]);
}

#[test]
fn daily_cap_counts_leased_records_and_resets() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 3)]);
    let now = t0();
    for i in 0..6 {
        b.enqueue(
            entry(&format!("r{i}"), "w", "HT-KS", now + hours(24 + i), now),
            now,
        );
    }
    assert_eq!(
        ids(&b.take("w/d1", 10, now)),
        ["r0", "r1", "r2"],
        "a cap of 3 never hands out a 4th"
    );
    assert!(b.take("w/d1", 10, now).is_empty());
    b.note_signed("r0", "w/d1", Some("g1"), StdDuration::from_secs(60));
    assert!(b.take("w/d1", 10, now).is_empty(), "1 used + 2 leased = 3");
    b.release("r1", now);
    assert_eq!(
        ids(&b.take("w/d1", 10, now)),
        ["r1"],
        "a released lease frees its unit"
    );
    b.reset_day();
    assert_eq!(
        ids(&b.take("w/d1", 10, now)),
        ["r3"],
        "new day: 0 used + 2 leased"
    );
    b.set_used_today("g1", 3);
    b.remove("r1");
    b.remove("r2");
    b.remove("r3");
    assert!(b.take("w/d1", 10, now).is_empty(), "3 used today");
    // Over the cap, the deputy is not eligible: the records are director-only.
    assert_eq!(b.eligible_signers("r4", now), ["w/dir"]);
    let got = b.take("w/dir", 10, now);
    assert_eq!(ids(&got), ["r4", "r5"]);
    assert!(got.iter().all(|g| !g.escalated));
}

#[test]
fn a_second_delegation_adds_room_and_uncapped_is_charged_first() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations(
        "w",
        vec![
            delegation("capped", "w", "w/d1", &["HT-KS"], 1),
            delegation("free", "w", "w/d1", &["HT-KS", "X"], 0),
        ],
    );
    for i in 0..3 {
        b.enqueue(
            entry(&format!("r{i}"), "w", "HT-KS", t0() + hours(24), t0()),
            t0(),
        );
    }
    assert_eq!(b.take("w/d1", 10, t0()).len(), 3);
    assert!((0..3).all(|i| charged(&b, &format!("r{i}")).as_deref() == Some("free")));
}

#[test]
fn revoking_a_delegation_stops_grants() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 0)]);
    let now = t0();
    for i in 0..4 {
        b.enqueue(
            entry(&format!("r{i}"), "w", "HT-KS", now + hours(24), now),
            now,
        );
    }
    assert_eq!(ids(&b.take("w/d1", 1, now)), ["r0"]);
    let mut revoked = delegation("g1", "w", "w/d1", &["HT-KS"], 0);
    revoked.revoked_at = Some(now);
    b.set_delegations("w", vec![revoked]);
    assert!(b.take("w/d1", 10, now).is_empty());
    assert_eq!(b.eligible_signers("r1", now), ["w/dir"]);
    let got = b.take("w/dir", 10, now);
    assert_eq!(ids(&got), ["r1", "r2", "r3"]);
    assert!(
        got.iter().all(|g| !g.escalated),
        "nobody else may sign them: director-only"
    );
}

#[test]
fn an_away_deputy_gets_nothing() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 0)]);
    b.enqueue(entry("a", "w", "HT-KS", t0() + hours(24), t0()), t0());
    let mut away = view("w/d1", "w", SignerRole::Deputy);
    away.away = true;
    b.upsert_signer(away);
    assert!(b.take("w/d1", 10, t0()).is_empty());
    assert_eq!(b.eligible_signers("a", t0()), ["w/dir"]);
    b.upsert_signer(view("w/d1", "w", SignerRole::Deputy));
    assert_eq!(ids(&b.take("w/d1", 10, t0())), ["a"]);
}

#[test]
fn director_only_records_reach_only_the_director() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 0)]);
    let now = t0();
    b.enqueue(entry("land", "w", "DD-01", now + hours(48), now), now);
    for d in ["w/d1", "w/d2", "w/d3"] {
        assert!(b.take(d, 10, now).is_empty(), "{d}");
    }
    assert_eq!(b.eligible_signers("land", now), ["w/dir"]);
    assert_eq!(
        b.take("w/dir", 10, now),
        [Grant {
            id: "land".into(),
            escalated: false
        }]
    );
    assert!(
        b.at_risk("w", now).is_empty(),
        "director-only records are not escalations"
    );
}

/// Ward with one covering deputy (d1, lease size 2) and records of slack 1 h (below the 2 h
/// guard) and 5 h.
fn guard_setup() -> Balancer {
    let mut b = ward_w(BalancerConfig {
        lease_size: 2,
        ..config(Policy::LateBinding)
    });
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 0)]);
    for (id, slack_h) in [("u1", 1), ("u2", 1), ("u3", 1), ("u4", 1), ("far", 5)] {
        b.enqueue(
            entry(id, "w", "HT-KS", t0() + hours(slack_h), t0() - hours(1)),
            t0(),
        );
    }
    b
}

#[test]
fn director_last_while_deputies_have_capacity() {
    let mut b = guard_setup();
    assert!(b.at_risk("w", t0()).is_empty());
    assert!(
        b.take("w/dir", 10, t0()).is_empty(),
        "d1 is online with spare capacity"
    );
    assert_eq!(b.eligible_signers("u1", t0()), ["w/d1"]);
    // Even far past the deadline, while d1 can take them, the director gets none.
    assert!(b.take("w/dir", 10, t0() + hours(10)).is_empty());
}

#[test]
fn director_gets_escalations_when_deputies_are_full() {
    let mut b = guard_setup();
    assert_eq!(ids(&b.take("w/d1", 10, t0())), ["u1", "u2"], "lease size 2");
    assert_eq!(b.at_risk("w", t0()), ["u3", "u4"]);
    assert_eq!(b.eligible_signers("u3", t0()), ["w/d1", "w/dir"]);
    assert_eq!(b.eligible_signers("far", t0()), ["w/d1"]);
    let got = b.take("w/dir", 10, t0());
    assert_eq!(
        got,
        [
            Grant {
                id: "u3".into(),
                escalated: true
            },
            Grant {
                id: "u4".into(),
                escalated: true
            }
        ],
        "slack 5 h is above the guard: `far` stays for the deputy"
    );
    assert!(b.at_risk("w", t0()).is_empty());
    // Three hours later `far` has 2 h of slack: still not below the guard. Then it is.
    assert!(b.take("w/dir", 10, t0() + hours(3)).is_empty());
    assert_eq!(
        b.at_risk("w", t0() + hours(3) + Duration::seconds(1)),
        ["far"]
    );
    // A deputy with room again takes precedence over the guard.
    b.release("u1", t0());
    assert!(b.at_risk("w", t0() + hours(4)).is_empty());
}

#[test]
fn director_gets_escalations_when_deputies_are_offline() {
    let mut b = guard_setup();
    let mut offline = view("w/d1", "w", SignerRole::Deputy);
    offline.online = false;
    b.upsert_signer(offline);
    assert_eq!(b.at_risk("w", t0()), ["u1", "u2", "u3", "u4"]);
    let got = b.take("w/dir", 10, t0());
    assert_eq!(
        ids(&got),
        ["u1", "u2"],
        "the director's lease size is 2 too"
    );
    assert!(got.iter().all(|g| g.escalated));
    // The offline deputy stays eligible (it is woken up for the rest).
    assert_eq!(b.eligible_signers("far", t0()), ["w/d1"]);
}

#[test]
fn an_away_deputys_records_reach_the_director_only_by_the_guard() {
    let mut b = guard_setup();
    let mut away = view("w/d1", "w", SignerRole::Deputy);
    away.away = true;
    b.upsert_signer(away);
    // Below the guard: escalated to the director, counted as such.
    assert_eq!(b.at_risk("w", t0()), ["u1", "u2", "u3", "u4"]);
    let got = b.take("w/dir", 2, t0());
    assert_eq!(ids(&got), ["u1", "u2"]);
    assert!(got.iter().all(|g| g.escalated));
    // Far from the deadline the records wait for the deputy to come back.
    assert!(!b.take("w/dir", 10, t0()).iter().any(|g| g.id == "far"));
}

#[test]
fn director_candidates_interleave_in_key_order() {
    let mut b = ward_w(BalancerConfig {
        lease_size: 4,
        ..config(Policy::LateBinding)
    });
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 0)]);
    for i in 1..=6 {
        b.enqueue(
            entry(
                &format!("u{i}"),
                "w",
                "HT-KS",
                t0() + hours(1),
                t0() - hours(1),
            ),
            t0(),
        );
    }
    assert_eq!(b.take("w/d1", 10, t0()).len(), 4);
    b.enqueue(
        entry(
            "only-early",
            "w",
            "DD-01",
            t0() + Duration::minutes(30),
            t0(),
        ),
        t0(),
    );
    b.enqueue(
        entry("only-late", "w", "DD-01", t0() + hours(9), t0()),
        t0(),
    );
    let got = b.take("w/dir", 10, t0());
    assert_eq!(
        ids(&got),
        ["only-early", "u5", "u6", "only-late"],
        "one key order for both kinds"
    );
    assert_eq!(
        got.iter().map(|g| g.escalated).collect::<Vec<_>>(),
        [false, true, true, false]
    );
}

#[test]
fn lease_size_is_respected() {
    let mut b = ward_w(BalancerConfig {
        lease_size: 3,
        ..config(Policy::LateBinding)
    });
    for i in 0..10 {
        b.enqueue(
            entry(&format!("r{i}"), "w", "X", t0() + hours(24 + i), t0()),
            t0(),
        );
    }
    assert_eq!(b.take("w/dir", 2, t0()).len(), 2, "capacity");
    assert_eq!(b.take("w/dir", 10, t0()).len(), 1, "lease size 3");
    assert!(b.take("w/dir", 10, t0()).is_empty());
    assert_eq!(b.leased_count("w/dir"), 3);
    b.remove("r0");
    assert_eq!(ids(&b.take("w/dir", 10, t0())), ["r3"]);
    b.mark_leased("r4", "w/dir");
    assert_eq!(
        b.leased_count("w/dir"),
        4,
        "a restored lease counts even beyond the lease size"
    );
    assert!(b.take("w/dir", 10, t0()).is_empty());
    assert_eq!(b.pool_depth("w"), 5);
}

#[test]
fn release_puts_a_record_back_in_order() {
    let mut b = ward_w(config(Policy::LateBinding));
    for i in 0..5 {
        b.enqueue(
            entry(&format!("r{i}"), "w", "X", t0() + hours(24 + i), t0()),
            t0(),
        );
    }
    assert_eq!(ids(&b.take("w/dir", 3, t0())), ["r0", "r1", "r2"]);
    assert_eq!(b.release("r1", t0()), None);
    assert_eq!(b.pool_depth("w"), 3);
    assert_eq!(ids(&b.take("w/dir", 1, t0())), ["r1"]);
    assert_eq!(b.release("r3", t0()), None, "not leased: no-op");
    assert_eq!(ids(&b.take("w/dir", 5, t0())), ["r3", "r4"]);
}

#[test]
fn unknown_ids_and_signers_are_no_ops() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.remove("nope");
    assert_eq!(b.release("nope", t0()), None);
    b.mark_leased("nope", "w/dir");
    b.note_signed("nope", "ghost", Some("g"), StdDuration::from_secs(1));
    assert!(b.take("ghost", 10, t0()).is_empty());
    assert!(b.eligible_signers("nope", t0()).is_empty());
    assert!(b.at_risk("nowhere", t0()).is_empty());
    assert_eq!(
        (
            b.pool_depth("nowhere"),
            b.leased_count("ghost"),
            b.queued_for("ghost")
        ),
        (0, 0, 0)
    );
    b.enqueue(entry("a", "w", "X", t0() + hours(1), t0()), t0());
    b.remove_signer("w/dir");
    assert!(b.take("w/dir", 10, t0()).is_empty());
    assert!(b.eligible_signers("a", t0()).is_empty());
    // Enqueueing a known id replaces it rather than duplicating it.
    b.enqueue(entry("a", "w", "X", t0() + hours(2), t0()), t0());
    assert_eq!(b.pool_depth("w"), 1);
    assert!(format!("{b:?}").contains("records: 1"));
}

/// With slack in working time, nothing changes over a weekend: with a guard of two working days
/// (15 h of office hours), a record due Monday at 09:00 is at risk from Friday on (1.5 working
/// hours are left), one due Tuesday at 17:00 only from Monday's opening, and neither changes from
/// Friday's closing to Monday's opening. Counted in clock time, the Monday record would look far
/// on Friday and go to the director on Sunday evening.
#[test]
fn nothing_changes_over_a_weekend() {
    let balancer = |slack| {
        let mut b = Balancer::new(
            BalancerConfig {
                director_guard: StdDuration::from_secs(15 * 3600),
                ..config(Policy::LateBinding)
            },
            slack,
        );
        b.upsert_signer(view("w/dir", "w", SignerRole::Director));
        let mut offline = view("w/d1", "w", SignerRole::Deputy);
        offline.online = false;
        b.upsert_signer(offline);
        b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["HT-KS"], 0)]);
        let friday = datetime!(2025-07-04 10:00 +7);
        for (id, due) in [
            ("mon", datetime!(2025-07-07 09:00 +7)),
            ("tue", datetime!(2025-07-08 17:00 +7)),
        ] {
            b.enqueue(entry(id, "w", "HT-KS", due, friday), friday);
        }
        b
    };
    let working = balancer(Slack::working(signq_calendar::Calendar::default()));
    for now in [
        datetime!(2025-07-04 17:00 +7),
        datetime!(2025-07-04 23:00 +7),
        datetime!(2025-07-05 12:00 +7),
        datetime!(2025-07-06 23:59 +7),
        datetime!(2025-07-07 07:30 +7),
    ] {
        assert_eq!(working.at_risk("w", now), ["mon"], "at {now}");
    }
    assert_eq!(
        working.at_risk("w", datetime!(2025-07-07 07:31 +7)),
        ["mon", "tue"]
    );
    let clock = balancer(Slack::Clock);
    assert!(
        clock
            .at_risk("w", datetime!(2025-07-04 17:00 +7))
            .is_empty()
    );
    assert_eq!(clock.at_risk("w", datetime!(2025-07-06 18:01 +7)), ["mon"]);
}

#[test]
fn waiting_for_counts_what_could_still_reach_each_signer() {
    let mut b = ward_w(config(Policy::LateBinding));
    b.set_delegations("w", vec![delegation("g1", "w", "w/d1", &["A"], 0)]);
    let now = t0();
    for i in 0..3 {
        b.enqueue(entry(&format!("a{i}"), "w", "A", now + hours(48), now), now);
    }
    for i in 0..2 {
        b.enqueue(entry(&format!("x{i}"), "w", "X", now + hours(48), now), now);
    }
    let waiting = |b: &Balancer| ["w/dir", "w/d1", "w/d2"].map(|s| b.waiting_for(s, now));
    // The director is not promised the deputy's records; d2 may sign nothing.
    assert_eq!(waiting(&b), [2, 3, 0]);
    assert_eq!(b.take("w/d1", 2, now).len(), 2);
    assert_eq!(waiting(&b), [2, 1, 0], "leased records no longer wait");
    b.upsert_signer(SignerView {
        away: true,
        ..view("w/d1", "w", SignerRole::Deputy)
    });
    assert_eq!(
        b.waiting_for("w/d1", now),
        0,
        "nothing waits for a signer who is away"
    );
    assert_eq!(b.waiting_for("nobody", now), 0);
}
