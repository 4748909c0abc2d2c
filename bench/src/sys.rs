//! The machine: process CPU and memory from `/proc`, file limits, source
//! addresses and sockets for many loopback connections.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// CPU time (user + system) of a process, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(ticks_to_duration)
}

/// `utime + stime` in clock ticks from the text of `/proc/<pid>/stat`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may contain spaces: fields
    // are counted after the last `)`. utime and stime are fields 14 and
    // 15 (1-based), that is the 12th and 13th after the `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / hz)
}

/// Memory of a process, kB: `(VmRSS, VmHWM)` (current and peak resident).
pub fn memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_memory_kb(&status)
}

/// `(VmRSS, VmHWM)` from the text of `/proc/<pid>/status`.
pub fn parse_memory_kb(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Raises the soft limit of open files to the hard limit; returns it.
pub fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        limit.rlim_cur
    }
}

/// The source address of connection `index` of load process `block`:
/// `127.<block>.<hi>.<lo>`, never `.0` or `.255` in the last byte, so that
/// many connections and successive runs do not share (address, port)
/// pairs in TIME_WAIT.
pub fn source_addr(block: u8, index: usize) -> Ipv4Addr {
    let per = 250usize;
    let hi = (index / per) % 256;
    let lo = index % per + 1;
    Ipv4Addr::new(127, block.max(1), hi as u8, lo as u8)
}

/// Opens a TCP connection from `source` (port chosen at connect time with
/// `IP_BIND_ADDRESS_NO_PORT`) to `target`.
pub async fn connect_from(
    source: Ipv4Addr,
    target: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a valid socket with a pointer to a local int.
    // Failure only means the port is chosen at bind time instead.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A listener on `addr` with a backlog of 4096.
pub fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// A free loopback TCP port (racy, good enough for one benchmark run).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat = "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 100 1000 10";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
    }

    #[test]
    fn parses_status() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(parse_memory_kb(status), Some((1024, 2048)));
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_time(pid).is_some());
        let (rss, hwm) = memory_kb(pid).unwrap();
        assert!(rss > 0 && hwm >= rss);
    }

    #[test]
    fn source_addresses_rotate_and_avoid_0_and_255() {
        let a = source_addr(10, 0);
        assert_eq!(a, Ipv4Addr::new(127, 10, 0, 1));
        assert_eq!(source_addr(10, 249), Ipv4Addr::new(127, 10, 0, 250));
        assert_eq!(source_addr(10, 250), Ipv4Addr::new(127, 10, 1, 1));
        for i in 0..100_000 {
            let o = source_addr(3, i).octets();
            assert!(o[3] != 0 && o[3] != 255);
        }
    }
}
