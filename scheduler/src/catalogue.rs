//! The commune-level procedures that end in the director's (or a deputy's) signature, with their
//! statutory time limits, for `signq dev` and the load-test scenarios. Facts from the Law on Civil
//! Status (2014), its decrees and the rules on certification (see `shared/data/procedures.md`).
//!
//! Time limits are simplified to clock durations: "same day" is taken as one working day of
//! 8 hours, and "N working days" as N × 24 hours, ignoring the 15:00 cut-off, weekends and holidays.
//! The land-change limit of about 10 working days is an assumption (no public figure found).

use std::time::Duration;

use crate::model::Procedure;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// `(code, Vietnamese name, time limit in seconds)`.
const PROCEDURES: [(&str, &str, u64); 14] = [
    ("HT-KS", "Đăng ký khai sinh", 8 * HOUR),
    ("HT-KT", "Đăng ký khai tử", 8 * HOUR),
    ("HT-KH", "Đăng ký kết hôn", 8 * HOUR),
    ("HT-NCMC", "Đăng ký nhận cha, mẹ, con", 3 * DAY),
    (
        "HT-KSNC",
        "Đăng ký khai sinh kết hợp nhận cha, mẹ, con",
        3 * DAY,
    ),
    ("HT-TDCC", "Thay đổi, cải chính hộ tịch", 3 * DAY),
    ("HT-XNHN", "Cấp Giấy xác nhận tình trạng hôn nhân", 3 * DAY),
    ("HT-GH", "Đăng ký giám hộ", 3 * DAY),
    ("HT-KSL", "Đăng ký lại khai sinh", 5 * DAY),
    ("CT-BS", "Chứng thực bản sao từ bản chính", 8 * HOUR),
    ("CT-CK", "Chứng thực chữ ký", 8 * HOUR),
    ("CT-HD", "Chứng thực hợp đồng, giao dịch", 2 * DAY),
    ("KD-HKD", "Đăng ký hộ kinh doanh", 3 * DAY),
    ("DD-BD", "Đăng ký biến động đất đai", 10 * DAY),
];

/// The catalogue.
pub fn procedures() -> Vec<Procedure> {
    PROCEDURES
        .iter()
        .map(|(code, name, secs)| Procedure {
            code: code.to_string(),
            name: name.to_string(),
            time_limit: Duration::from_secs(*secs),
        })
        .collect()
}
