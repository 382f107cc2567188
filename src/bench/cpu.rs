//! CPU time spent on a measurement, by this process and by the PostgreSQL backends
//! serving the bench database: what a throughput ratio tends to on an idle machine, where
//! both sides are bound by the CPU they use, and a figure that barely moves when other
//! work shares the machine (throughput does).
//!
//! Read from Linux's `/proc`: `utime + stime` of `/proc/self/stat`, and of every process
//! whose title names the database (PostgreSQL titles a backend `postgres: … <user>
//! <database> <client> <state>`). Shared server work (the WAL writer, the checkpointer)
//! is in neither. Beside them, the whole machine's busy, idle and stolen time from
//! `/proc/stat` ([`MachineTimes`]). Elsewhere nothing is measured.

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
        Self::now_for(&[database])
    }

    /// Now, for the backends connected to any of `databases`.
    pub fn now_for(databases: &[&str]) -> Option<CpuTimes> {
        let own = cpu_seconds(&fs::read_to_string("/proc/self/stat").ok()?)?;
        let titles: Vec<String> = databases.iter().map(|d| format!(" {d} ")).collect();
        let mut server = 0.0;
        for entry in fs::read_dir("/proc").ok()?.flatten() {
            let path = entry.path();
            let Ok(cmdline) = fs::read(path.join("cmdline")) else {
                continue; // not a process, or gone meanwhile
            };
            let cmdline = String::from_utf8_lossy(&cmdline);
            if !(cmdline.starts_with("postgres: ") && titles.iter().any(|t| cmdline.contains(t))) {
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

/// The whole machine's CPU time so far, from the first line of `/proc/stat`: what every
/// process used, what nobody used, and what the hypervisor took (steal). A throughput
/// figure from a shared virtual machine means little without the last two.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineTimes {
    /// user, nice, system, irq and softirq time, in seconds (all cores together).
    pub busy: f64,
    /// Idle time, waiting for I/O included.
    pub idle: f64,
    /// Of the idle time, waiting for I/O (a commit's WAL flush, for example).
    pub iowait: f64,
    /// Time the hypervisor ran something else while this machine had work.
    pub steal: f64,
}

impl MachineTimes {
    /// Now; `None` where `/proc/stat` cannot tell.
    pub fn now() -> Option<MachineTimes> {
        machine_times(&fs::read_to_string("/proc/stat").ok()?)
    }

    /// What the machine's cores did between `self` and `later`, `elapsed_seconds` apart, as
    /// a number of cores (the sum of the four is about the machine's core count).
    pub fn cores_until(self, later: MachineTimes, elapsed_seconds: f64) -> MachineCores {
        let per = |a: f64, b: f64| (b - a).max(0.0) / elapsed_seconds.max(1e-9);
        MachineCores {
            busy: per(self.busy, later.busy),
            idle: per(self.idle - self.iowait, later.idle - later.iowait),
            iowait: per(self.iowait, later.iowait),
            steal: per(self.steal, later.steal),
        }
    }
}

/// How many of the machine's cores were busy, idle, idle waiting for I/O, and taken by the
/// hypervisor during a measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineCores {
    pub busy: f64,
    pub idle: f64,
    pub iowait: f64,
    pub steal: f64,
}

impl MachineCores {
    /// The medians of several measurements, field by field.
    pub fn median(of: &[MachineCores]) -> MachineCores {
        MachineCores {
            busy: super::median(of.iter().map(|m| m.busy).collect()),
            idle: super::median(of.iter().map(|m| m.idle).collect()),
            iowait: super::median(of.iter().map(|m| m.iowait).collect()),
            steal: super::median(of.iter().map(|m| m.steal).collect()),
        }
    }
}

/// The `cpu` line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal …`
/// in ticks of `USER_HZ`.
fn machine_times(stat: &str) -> Option<MachineTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let at = |i: usize| ticks.get(i).copied().map(|t| t / TICKS_PER_SECOND);
    let (user, nice, system, idle, iowait) = (at(0)?, at(1)?, at(2)?, at(3)?, at(4)?);
    let (irq, softirq) = (at(5).unwrap_or(0.0), at(6).unwrap_or(0.0));
    Some(MachineTimes {
        busy: user + nice + system + irq + softirq,
        idle: idle + iowait,
        iowait,
        steal: at(7).unwrap_or(0.0),
    })
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
    fn the_cpu_line_of_proc_stat_gives_the_machines_time() {
        let stat = "cpu  1000 100 400 5000 200 30 70 150 0 0\ncpu0 500 50 200 2500 100 15 35 75 0 0\nintr 1 2\n";
        let t = machine_times(stat).unwrap();
        assert_eq!(t.busy, 16.0);
        assert_eq!(t.idle, 52.0);
        assert_eq!(t.iowait, 2.0);
        assert_eq!(t.steal, 1.5);
        assert_eq!(machine_times("intr 1 2\n"), None);
        assert_eq!(machine_times("cpu  1 2 x 4 5\n"), None);

        let later = MachineTimes {
            busy: 18.0,
            idle: 53.0,
            iowait: 2.5,
            steal: 2.5,
        };
        let cores = t.cores_until(later, 2.0);
        assert_eq!(cores.busy, 1.0);
        assert_eq!(cores.idle, 0.25);
        assert_eq!(cores.iowait, 0.25);
        assert_eq!(cores.steal, 0.5);
    }

    #[test]
    fn this_machine_is_measured() {
        let before = MachineTimes::now().unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = MachineTimes::now().unwrap();
        assert!(after.busy > before.busy);
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
