//! Process probes used against pid reuse: is a process alive, and when did it
//! start. (The only place this crate touches the operating system.)

/// When process `pid` started, in clock ticks since boot (Linux `/proc/<pid>/stat`
/// field 22). `None` where that cannot be read (other systems, no such process).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` has exited but not been reaped yet (Linux; false elsewhere).
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Whether `pid` is a live process that started at `start` (when known).
/// A process owned by another user counts as alive.
pub fn alive(pid: u32, start: Option<u64>) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let rc = unsafe { libc::kill(pid as i32, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists || is_zombie(pid) {
        return false;
    }
    match (start, start_time(pid)) {
        (Some(expected), Some(actual)) => expected == actual,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_pid_reuse_is_caught() {
        let me = std::process::id();
        let start = start_time(me);
        assert!(alive(me, start));
        if let Some(s) = start {
            assert!(
                !alive(me, Some(s + 1)),
                "another start time is another process"
            );
        }
        assert!(!alive(0, None));
        assert!(!alive(u32::MAX, None));
    }
}
