//! Resident memory of a process from `/proc/<pid>/status`: what it holds now (`VmRSS`) and the
//! most it has held (`VmHWM`), and resetting that peak so that one phase of a run can be measured
//! on its own. Linux only: elsewhere every function answers `None` or `false`, and callers say
//! that memory was not measured.

/// A process's resident memory, KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The peak since the process started or its peak was last reset (`VmHWM`).
    pub peak_kib: u64,
}

impl Resident {
    /// Resident now, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    /// The peak, MiB.
    pub fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

/// `pid`'s resident memory, or `None` where `/proc/<pid>/status` is missing (not Linux, or the
/// process is gone).
pub fn resident(pid: u32) -> Option<Resident> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Resets `pid`'s peak (`VmHWM`) to what it holds now (`5` written to `/proc/<pid>/clear_refs`,
/// Linux 4.0 and later; allowed on one's own child processes). Returns whether it was reset.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), b"5").is_ok()
}

fn parse(status: &str) -> Option<Resident> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        // "VmRSS:\t   12345 kB"
        line[name.len()..]
            .trim_start_matches(':')
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some(Resident {
        rss_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_two_fields() {
        let status =
            "Name:\tsignq\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n";
        assert_eq!(
            parse(status),
            Some(Resident {
                rss_kib: 70_000,
                peak_kib: 81_234
            })
        );
        assert_eq!(parse("Name:\tsignq\n"), None);
    }

    #[test]
    fn own_memory_is_readable_where_proc_exists() {
        if std::path::Path::new("/proc/self/status").exists() {
            let me = resident(std::process::id()).expect("own status");
            assert!(me.rss_kib > 0 && me.peak_kib >= me.rss_kib);
        }
    }
}
