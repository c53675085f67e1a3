//! The commune-level procedures that end in the director's (or a deputy's) signature, with their
//! statutory time limits in working time, for `signq dev` and the load-test scenarios. Facts from
//! the Law on Civil Status (2014), its decrees and the rules on certification.
//!
//! "Same day" is the same working day if received by 15:00, the next one after (certifications,
//! and the civil-status registrations the law settles on the day). Limits in working days count
//! from the next working day when received after 15:00. The land-change limit of about
//! 10 working days is an assumption (no public figure found).

use signq_calendar::{Rule, TimeLimit};

use crate::model::Procedure;

/// `(code, Vietnamese name, time limit)`; every one with the 15:00 cut-off.
const PROCEDURES: [(&str, &str, TimeLimit); 14] = [
    ("HT-KS", "Đăng ký khai sinh", TimeLimit::SameDay),
    ("HT-KT", "Đăng ký khai tử", TimeLimit::SameDay),
    ("HT-KH", "Đăng ký kết hôn", TimeLimit::SameDay),
    (
        "HT-NCMC",
        "Đăng ký nhận cha, mẹ, con",
        TimeLimit::WorkingDays(3),
    ),
    (
        "HT-KSNC",
        "Đăng ký khai sinh kết hợp nhận cha, mẹ, con",
        TimeLimit::WorkingDays(3),
    ),
    (
        "HT-TDCC",
        "Thay đổi, cải chính hộ tịch",
        TimeLimit::WorkingDays(3),
    ),
    (
        "HT-XNHN",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        TimeLimit::WorkingDays(3),
    ),
    ("HT-GH", "Đăng ký giám hộ", TimeLimit::WorkingDays(3)),
    ("HT-KSL", "Đăng ký lại khai sinh", TimeLimit::WorkingDays(5)),
    (
        "CT-BS",
        "Chứng thực bản sao từ bản chính",
        TimeLimit::SameDay,
    ),
    ("CT-CK", "Chứng thực chữ ký", TimeLimit::SameDay),
    (
        "CT-HD",
        "Chứng thực hợp đồng, giao dịch",
        TimeLimit::WorkingDays(2),
    ),
    ("KD-HKD", "Đăng ký hộ kinh doanh", TimeLimit::WorkingDays(3)),
    (
        "DD-BD",
        "Đăng ký biến động đất đai",
        TimeLimit::WorkingDays(10),
    ),
];

/// The catalogue.
pub fn procedures() -> Vec<Procedure> {
    PROCEDURES
        .iter()
        .map(|(code, name, limit)| Procedure {
            code: code.to_string(),
            name: name.to_string(),
            rule: Rule {
                limit: *limit,
                cut_off: Rule::SAME_DAY_15H.cut_off,
            },
        })
        .collect()
}

/// A time limit as clock time, the way signq counted before the legal calendar: the same day as
/// 8 hours, a working day as 24 hours, a working hour as an hour. Kept for the simulator's
/// comparison of the two (`signq simulate --deadlines clock-hours`).
pub fn clock_time_limit(rule: Rule) -> std::time::Duration {
    const HOUR: u64 = 3600;
    std::time::Duration::from_secs(match rule.limit {
        TimeLimit::SameDay => 8 * HOUR,
        TimeLimit::WorkingDays(n) => u64::from(n) * 24 * HOUR,
        TimeLimit::WorkingHours(n) => u64::from(n) * HOUR,
    })
}
