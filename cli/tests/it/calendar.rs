//! Deadlines on the ward's calendar: Submit counts the statutory time limit in working time on
//! the days the override files leave open, the deadline guard counts slack in working time, and
//! a broken override file stops startup naming the file and the line.

use std::process::Stdio;
use std::sync::Arc;

use signq_calendar::{Calendar, Days, OfficeHours, Rule, YearOverrides};
use time::{Duration, OffsetDateTime};

use super::fixture::{
    DIRECTOR, Ward, get_record, intake, sign_in, signq, submission, submit_due_in,
};

fn at(t: &prost_types::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.seconds).expect("a time")
        + Duration::nanoseconds(i64::from(t.nanos))
}

/// Override files (one per year touched) giving the ten days from `from` off.
fn ten_days_off(dir: &std::path::Path, from: time::Date) {
    let mut by_year = std::collections::BTreeMap::<i32, String>::new();
    for i in 0..10 {
        let day = from + Duration::days(i);
        by_year
            .entry(day.year())
            .or_insert_with(|| format!("year = {}\n", day.year()))
            .push_str(&format!("\n[[days_off]]\ndate = {day}\nname = \"Nghỉ\"\n"));
    }
    for (year, text) in by_year {
        std::fs::write(dir.join(format!("{year}.toml")), text).expect("write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_is_due_on_the_calendar_the_override_files_set() {
    // The next ten days off, whatever today is: a same-day certification cannot be due before
    // they end.
    let files = tempfile::tempdir().expect("tempdir");
    let today = OffsetDateTime::now_utc()
        .to_offset(signq_calendar::VIETNAM)
        .date();
    ten_days_off(files.path(), today);
    let dir = files.path().to_str().expect("utf-8").to_string();
    let ward = Ward::start(&["--calendar-dir", &dir]);
    let record = intake(&ward)
        .await
        .submit(submission("CT-BS", "calendar-1"))
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    let received = at(record.submitted_at.as_ref().expect("submitted_at"));
    let due = at(record.deadline.as_ref().expect("deadline"));
    // The same calendar, built here from the same files.
    let overrides = std::fs::read_dir(files.path())
        .expect("dir")
        .map(|e| {
            YearOverrides::parse(&std::fs::read_to_string(e.expect("entry").path()).expect("read"))
                .expect("parses")
        })
        .collect();
    let calendar = Calendar::new(
        Arc::new(Days::new(overrides).expect("days")),
        OfficeHours::default(),
    );
    assert_eq!(due, calendar.due(received, Rule::SAME_DAY_15H));
    let due_day = due.to_offset(signq_calendar::VIETNAM).date();
    assert!(due_day >= today + Duration::days(10), "due {due}");
    assert_eq!(
        due.to_offset(signq_calendar::VIETNAM).time(),
        time::macros::time!(17:00)
    );
}

#[test]
fn a_broken_override_file_stops_startup_naming_the_file_and_line() {
    let mut ward = Ward::start(&[]);
    ward.kill();
    let files = tempfile::tempdir().expect("tempdir");
    let broken = files.path().join("2027.toml");
    std::fs::write(&broken, "year = 2027\n\n[[days_off]]\ndate = 2027-02-30\n").expect("write");
    let output = signq()
        .arg("--data-dir")
        .arg(ward.data())
        .args([
            "scheduler",
            "--scheduler-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--calendar-dir",
        ])
        .arg(files.path())
        .stdout(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let named = format!("{}:4:", broken.display());
    assert!(stderr.contains(&named), "names {named}: {stderr}");
}

/// A certification received on Friday at 16:00 (past the 15:00 cut-off) is due on Monday at
/// 17:00; on Saturday the deadline guard leaves it with its deputy (a full working day is left),
/// and on Monday at 15:30 (1.5 working hours left, below the 2-hour guard, its deputy not
/// signed in) it goes to the director as an escalation. The services run on a fake wall clock
/// (libfaketime), restarted at each moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friday_afternoon_is_due_monday_and_nothing_escalates_on_saturday() {
    let mut ward = tokio::task::block_in_place(|| {
        // Friday 27 November 2026, 16:00 in Vietnam.
        Ward::start_at(&[], Some("2026-11-27 09:00:00"))
    });
    let record = intake(&ward)
        .await
        .submit(submission("CT-BS", "friday-16h"))
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    let due = at(record.deadline.as_ref().expect("deadline"));
    assert_eq!(due, time::macros::datetime!(2026-11-30 17:00 +7));

    async fn pull(ward: &Ward) -> Vec<signq_proto::v1::Record> {
        let mut director = sign_in(ward, DIRECTOR).await;
        director
            .pull_next(signq_proto::v1::PullNextRequest { max: 0 })
            .await
            .expect("pull")
            .into_inner()
            .records
    }
    // Saturday 10:00: a working day of slack; the director gets nothing.
    tokio::task::block_in_place(|| {
        ward.set_clock(Some("2026-11-28 03:00:00"));
        ward.kill_and_restart();
    });
    assert!(pull(&ward).await.is_empty(), "escalated on a Saturday");
    // Monday 15:30: 1.5 working hours left.
    tokio::task::block_in_place(|| {
        ward.set_clock(Some("2026-11-30 08:30:00"));
        ward.kill_and_restart();
    });
    let got = pull(&ward).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, record.id);
    assert!(got[0].escalated, "{:?}", got[0]);
}

/// The at-risk events a watch of the demo ward has seen by the time `done` says so (bounded),
/// as record ids in the order they came.
async fn at_risk_seen(ward: &Ward, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    use signq_proto::v1::{RecordEventKind, WatchRecordsRequest};
    let mut stream = intake(ward)
        .await
        .watch_records(WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut seen = Vec::new();
    while !done(&seen) && std::time::Instant::now() < deadline {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), stream.message()).await;
        if let Ok(message) = next {
            let event = message.expect("watch").expect("the stream stays open");
            if event.kind == RecordEventKind::AtRisk as i32 {
                seen.push(event.record.expect("record").id);
            }
        }
    }
    seen
}

/// A record with less than a working day left while unsigned raises one at-risk event on Watch,
/// never a second (not after a restart either); a record far from its deadline raises none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_at_risk_is_announced_once_on_watch() {
    let mut ward = Ward::start(&[]);
    // Due in two clock hours: less than a working day of working time left whenever this runs.
    let soon = submit_due_in(&ward, "risk-soon", 2).await.id;
    let far = submit_due_in(&ward, "risk-far", 24 * 60).await.id;
    let seen = at_risk_seen(&ward, |seen| seen.contains(&soon)).await;
    assert_eq!(seen, std::slice::from_ref(&soon));
    let record = get_record(&ward, &soon).await;
    assert!(record.at_risk_at.is_some(), "{record:?}");

    // After a restart, a new record at risk is announced, and the first is not again.
    tokio::task::block_in_place(|| ward.kill_and_restart());
    let later = submit_due_in(&ward, "risk-later", 2).await.id;
    let seen = at_risk_seen(&ward, |seen| seen.contains(&later)).await;
    assert_eq!(seen, [soon, later]);
    assert!(!seen.contains(&far));
}

/// `signq calendar check` judges the year files as the scheduler does at start, and `signq
/// calendar show` lists a year's holidays with the file's days.
#[test]
fn calendar_check_and_show() {
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        files.path().join("2026.toml"),
        "year = 2026\n\n[[days_off]]\ndate = 2026-02-21\nname = \"Nghỉ Tết\"\n\n\
         [[working_days]]\ndate = 2026-01-03\nname = \"Làm bù\"\n",
    )
    .expect("write");
    let calendar = |args: &[&str]| {
        signq()
            .arg("--data-dir")
            .arg(files.path().join("data"))
            .arg("calendar")
            .args(args)
            .arg("--calendar-dir")
            .arg(files.path())
            .output()
            .expect("run")
    };
    let check = calendar(&["check"]);
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("OK (2026)"));
    let show = String::from_utf8_lossy(&calendar(&["show", "2026"]).stdout).to_string();
    for line in [
        "2026-01-03 Saturday  working  Làm bù",
        "2026-02-17 Tuesday   off      Tết Nguyên đán (mùng 1)",
        "2026-02-21 Saturday  off      Nghỉ Tết",
        "2026-04-27 Monday    off      Nghỉ bù Giỗ Tổ Hùng Vương",
    ] {
        assert!(show.contains(line), "{line:?} in\n{show}");
    }
    std::fs::write(
        files.path().join("2027.toml"),
        "year = 2027\nholidays = 3\n",
    )
    .expect("write");
    let broken = calendar(&["check"]);
    assert!(!broken.status.success());
    let stderr = String::from_utf8_lossy(&broken.stderr);
    let named = format!("{}:2:", files.path().join("2027.toml").display());
    assert!(stderr.contains(&named), "names {named}: {stderr}");
}

/// A ward with its own office hours has its deadlines counted inside them; bad hours are
/// refused naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ward_counts_deadlines_in_its_own_office_hours() {
    use signq_proto::v1::admin_client::AdminClient;
    use signq_proto::v1::{CreateWardRequest, Ward as WardMessage};
    let ward = Ward::start(&[]);
    super::fixture::another_ward_and_desk(
        &ward,
        "an-khanh",
        "Phường An Khánh",
        "an-khanh-desk",
        &["an-khanh"],
    )
    .await;
    let mut operator =
        AdminClient::new(super::fixture::scheduler_channel(&ward, Some("operator")).await);
    let hours = |office_hours: &str| CreateWardRequest {
        ward: Some(WardMessage {
            id: "an-khanh".into(),
            name: "Phường An Khánh".into(),
            office_hours: office_hours.into(),
            signature_titles: None,
            seal: 0,
        }),
    };
    let refused = operator
        .create_ward(hours("07:00-25:00"))
        .await
        .expect_err("bad hours");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("ward.office_hours"),
        "{refused:?}"
    );
    let stored = operator
        .create_ward(hours("07:00-11:00,13:00-16:30"))
        .await
        .expect("hours")
        .into_inner()
        .ward
        .expect("ward");
    assert_eq!(stored.office_hours, "07:00-11:00,13:00-16:30");

    let mut desk = signq_proto::v1::intake_client::IntakeClient::new(
        super::fixture::scheduler_channel(&ward, Some("an-khanh-desk")).await,
    );
    let mut request = submission("CT-BS", "own-hours");
    request.ward = "an-khanh".into();
    let record = desk
        .submit(request)
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    let due = at(record.deadline.as_ref().expect("deadline")).to_offset(signq_calendar::VIETNAM);
    assert_eq!(
        due.time(),
        time::macros::time!(16:30),
        "closes at 16:30: {due}"
    );
}
