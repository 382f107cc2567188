//! CPU time spent on a measurement, by this process and by the PostgreSQL backends
//! serving the bench database: what a throughput ratio tends to on an idle machine, where
//! both sides are bound by the CPU they use, and a figure that barely moves when other
//! work shares the machine (throughput does).
//!
//! Read from Linux's `/proc`: `utime + stime` of `/proc/self/stat`, and of every process
//! whose title names the database (PostgreSQL titles a backend `postgres: … <user>
//! <database> <client> <state>`). Shared server work (the WAL writer, the checkpointer)
//! is in neither. Elsewhere nothing is measured.

use std::fs;

/// CPU seconds so far: this process's, and the bench database's backends'.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    pub own: f64,
    pub server: f64,
}

/// `/proc` counts CPU time in ticks of `USER_HZ`, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

impl CpuTimes {
    /// Now, for the backends connected to `database`; `None` where `/proc` cannot tell.
    pub fn now(database: &str) -> Option<CpuTimes> {
        let own = cpu_seconds(&fs::read_to_string("/proc/self/stat").ok()?)?;
        let title = format!(" {database} ");
        let mut server = 0.0;
        for entry in fs::read_dir("/proc").ok()?.flatten() {
            let path = entry.path();
            let Ok(cmdline) = fs::read(path.join("cmdline")) else {
                continue; // not a process, or gone meanwhile
            };
            let cmdline = String::from_utf8_lossy(&cmdline);
            if !(cmdline.starts_with("postgres: ") && cmdline.contains(&title)) {
                continue;
            }
            if let Some(seconds) = fs::read_to_string(path.join("stat"))
                .ok()
                .and_then(|stat| cpu_seconds(&stat))
            {
                server += seconds;
            }
        }
        Some(CpuTimes { own, server })
    }

    /// Microseconds per item spent between `self` and `later`.
    pub fn per_item(self, later: CpuTimes, items: usize) -> CpuPerItem {
        let per = |a: f64, b: f64| (b - a).max(0.0) * 1e6 / items.max(1) as f64;
        CpuPerItem {
            own_us: per(self.own, later.own),
            server_us: per(self.server, later.server),
        }
    }
}

/// CPU per item of work, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuPerItem {
    /// In this process (the client: runproof, or the raw baseline's loop).
    pub own_us: f64,
    /// In the PostgreSQL backends serving it.
    pub server_us: f64,
}

impl CpuPerItem {
    pub fn total_us(&self) -> f64 {
        self.own_us + self.server_us
    }

    /// The per-item medians of the rounds, field by field.
    pub fn median(rounds: &[CpuPerItem]) -> CpuPerItem {
        CpuPerItem {
            own_us: super::median(rounds.iter().map(|r| r.own_us).collect()),
            server_us: super::median(rounds.iter().map(|r| r.server_us).collect()),
        }
    }
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in seconds. The command name in
/// parentheses may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (field 3), …, utime (14) and stime (15).
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_user_and_system_time() {
        let stat =
            "4063 (postgres: a (b)) S 2210 4063 4063 0 -1 4194560 1234 0 0 0 150 50 0 0 20 0 1 0";
        assert_eq!(cpu_seconds(stat), Some(2.0));
        assert_eq!(cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_is_measured() {
        let before = CpuTimes::now("no database has this name").unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = CpuTimes::now("no database has this name").unwrap();
        assert!(after.own > before.own);
        assert_eq!(after.server, 0.0);
    }
}
