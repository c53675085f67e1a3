//! CPU time (user + system) of a process from `/proc/<pid>/stat`, in seconds.

/// CPU seconds consumed so far by `pid` (all its threads), or `None` where `/proc` is missing.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux ABI signq targets.
    100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_cpu_time_is_readable_and_grows() {
        let before = super::cpu_seconds(std::process::id()).unwrap_or(0.0);
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = super::cpu_seconds(std::process::id()).unwrap_or(0.0);
        assert!(after >= before);
    }
}
