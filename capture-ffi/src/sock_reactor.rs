//! The socket reactor: non-blocking sockets with per-socket marking, driven by one epoll fd.
//!
//! Submissions (`connect`, `send`, `recv`, `close`) run on Deno's main thread and never block;
//! `poll` runs on Deno's blocking thread pool, waits in `epoll_wait` WITHOUT holding the lock, then
//! finishes the ready operations and copies many completion events at once into the caller's
//! buffer. Every socket is registered with `EPOLLONESHOT` and re-armed only while an operation is
//! pending, so an idle socket that hangs up or errors never spins the poll loop.
//!
//! Timeouts are the caller's business (TypeScript closes the socket when its timer fires); a
//! closed socket's pending operations are dropped silently.

use crate::sock_wire::{kind, to_sockaddr, ConnectOpts, Event, Proto};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;

/// Largest single receive (bytes).
pub const MAX_RECV: usize = 65536;

/// epoll user data of the wake-up eventfd (socket slots use their id, which is never 0).
const WAKE_KEY: u64 = 0;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Where a socket is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Non-blocking connect in progress (TCP), waiting for writability.
    Connecting,
    /// Usable for send / recv.
    Open,
    /// Connect failed or the socket could not be created: further operations fail with `err`.
    Failed,
}

struct Sock {
    fd: i32,
    phase: Phase,
    err: i32,
    local: Option<SocketAddr>,
    connect_token: Option<u64>,
    /// Fast-open data not yet written (sent as soon as the socket is writable).
    initial: Vec<u8>,
    /// The deferred fast-open SYN was triggered by the first write.
    syn_sent: bool,
    send: Option<(u64, Vec<u8>, usize)>,
    recv: Option<(u64, usize)>,
}

impl Drop for Sock {
    fn drop(&mut self) {
        if self.fd >= 0 {
            // SAFETY: the fd is owned by this socket and closed exactly once. Closing removes it
            // from the epoll set.
            unsafe { libc::close(self.fd) };
        }
    }
}

struct Inner {
    socks: HashMap<u32, Sock>,
    next_id: u32,
    queue: VecDeque<Event>,
}

/// One epoll instance with its sockets and the completions waiting to be polled.
pub struct Reactor {
    epfd: i32,
    wakefd: i32,
    inner: Mutex<Inner>,
}

impl Drop for Reactor {
    fn drop(&mut self) {
        if let Ok(mut g) = self.inner.lock() {
            g.socks.clear();
        }
        // SAFETY: both fds are owned by the reactor and closed once.
        unsafe {
            libc::close(self.wakefd);
            libc::close(self.epfd);
        }
    }
}

fn setsockopt_int(fd: i32, level: i32, name: i32, val: i32) -> Result<(), i32> {
    // SAFETY: passes a pointer to a live i32 and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &val as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

fn local_addr(fd: i32) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain old data; the kernel writes at most `len` bytes.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: valid pointers to the storage and its length.
    let r = unsafe { libc::getsockname(fd, &mut ss as *mut _ as *mut libc::sockaddr, &mut len) };
    if r < 0 {
        return None;
    }
    crate::sock_wire::from_sockaddr(&ss).filter(|a| a.port() != 0)
}

/// Creates the socket, applies the options BEFORE connecting (so that the SYN carries them) and
/// starts the connect. Returns the fd and whether the connect already completed.
fn open_and_connect(o: &ConnectOpts) -> Result<(i32, bool), (i32, i32)> {
    let v6 = o.dst.is_ipv6();
    let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let ty = match o.proto {
        Proto::Tcp => libc::SOCK_STREAM,
        Proto::Udp => libc::SOCK_DGRAM,
    } | libc::SOCK_NONBLOCK
        | libc::SOCK_CLOEXEC;
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(domain, ty, 0) };
    if fd < 0 {
        return Err((-1, errno()));
    }
    let fail = |e: i32| Err((fd, e));
    if let Some(tos) = o.tos {
        // The full ToS byte. For TCP the kernel keeps its own ECN bits and takes only the DSCP
        // from IP_TOS; IPV6_TCLASS is stored whole.
        let r = if v6 {
            setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tos as i32)
        } else {
            setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_TOS, tos as i32)
        };
        if let Err(e) = r {
            return fail(e);
        }
    }
    if let Some(mss) = o.mss {
        if let Err(e) = setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_MAXSEG, mss as i32) {
            return fail(e);
        }
    }
    if o.nodelay {
        if let Err(e) = setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1) {
            return fail(e);
        }
    }
    if o.fastopen {
        if let Err(e) = setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT, 1) {
            return fail(e);
        }
    }
    if let Some(src) = o.bind {
        if src.port() == 0 {
            // Defer the port choice to connect() so that the 4-tuple, not the source port alone,
            // must be unique: many targets can share a local port.
            let _ = setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1);
        }
        let (ss, len) = to_sockaddr(&src);
        // SAFETY: valid sockaddr and length.
        if unsafe { libc::bind(fd, &ss as *const _ as *const libc::sockaddr, len) } < 0 {
            return fail(errno());
        }
    }
    let (ss, len) = to_sockaddr(&o.dst);
    // SAFETY: valid sockaddr and length.
    let r = unsafe { libc::connect(fd, &ss as *const _ as *const libc::sockaddr, len) };
    if r < 0 {
        let e = errno();
        if e == libc::EINPROGRESS {
            return Ok((fd, false));
        }
        return fail(e);
    }
    // UDP connects at once; TCP with TCP_FASTOPEN_CONNECT returns 0 and sends the SYN with the
    // first write, done by `progress` with the initial data.
    Ok((fd, !o.fastopen))
}

/// Writes as much as possible; `Ok(n)` bytes written (0 if it would block).
fn write_some(fd: i32, buf: &[u8]) -> Result<usize, i32> {
    if buf.is_empty() {
        return Ok(0);
    }
    // SAFETY: valid buffer and length; MSG_NOSIGNAL avoids SIGPIPE on a reset connection.
    let n = unsafe {
        libc::send(
            fd,
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        let e = errno();
        // EINPROGRESS: fast open without a cookie; the data waits for the handshake.
        if e == libc::EAGAIN || e == libc::EWOULDBLOCK || e == libc::EINPROGRESS {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(n as usize)
}

/// Reads up to `max` bytes; `Ok(None)` if it would block.
fn read_some(fd: i32, max: usize) -> Result<Option<Vec<u8>>, i32> {
    let mut buf = vec![0u8; max];
    // SAFETY: valid buffer and length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, max, 0) };
    if n < 0 {
        let e = errno();
        if e == libc::EAGAIN || e == libc::EWOULDBLOCK {
            return Ok(None);
        }
        return Err(e);
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

fn writable(fd: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd; zero timeout.
    let r = unsafe { libc::poll(&mut pfd, 1, 0) };
    r > 0 && pfd.revents & libc::POLLOUT != 0
}

fn so_error(fd: i32) -> i32 {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: valid pointers to an i32 and its length.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut v as *mut i32 as *mut libc::c_void,
            &mut len,
        )
    };
    if r < 0 {
        errno()
    } else {
        v
    }
}

impl Sock {
    /// The epoll interest this socket needs now (0 = nothing pending).
    fn interest(&self) -> u32 {
        let mut ev = 0u32;
        if self.phase == Phase::Connecting
            || (self.phase == Phase::Open && (self.send.is_some() || !self.initial.is_empty()))
        {
            ev |= libc::EPOLLOUT as u32;
        }
        if self.phase == Phase::Open && self.recv.is_some() {
            ev |= libc::EPOLLIN as u32;
        }
        ev
    }

    /// Moves the socket to `Failed` and completes every pending operation with `-e`.
    fn fail_all(&mut self, e: i32, queue: &mut VecDeque<Event>) {
        self.phase = Phase::Failed;
        self.err = e;
        self.initial.clear();
        if let Some(t) = self.connect_token.take() {
            queue.push_back(Event {
                token: t,
                kind: kind::CONNECT,
                status: -e,
                local: self.local,
                data: vec![],
            });
        }
        if let Some((t, _, _)) = self.send.take() {
            queue.push_back(Event::status_only(t, kind::SEND, -e));
        }
        if let Some((t, _)) = self.recv.take() {
            queue.push_back(Event::status_only(t, kind::RECV, -e));
        }
    }

    /// Makes whatever progress the socket allows now, queueing completions.
    fn progress(&mut self, queue: &mut VecDeque<Event>) {
        if self.phase == Phase::Connecting {
            // The socket polled writable (or errored): SO_ERROR says how the handshake ended.
            // Right after submission SO_ERROR is 0 and the socket is not writable yet, so it
            // stays connecting.
            let e = so_error(self.fd);
            if e != 0 {
                self.fail_all(e, queue);
                return;
            }
            if !writable(self.fd) {
                return;
            }
            if !self.initial.is_empty() && !self.syn_sent {
                // TCP_FASTOPEN_CONNECT reports a deferred socket writable at once: this first
                // write sends the SYN, with the data if a cookie is cached. Without a cookie it
                // writes nothing (EINPROGRESS) and the data follows the handshake.
                self.syn_sent = true;
                match write_some(self.fd, &self.initial) {
                    Ok(n) => {
                        self.initial.drain(..n);
                    }
                    Err(e) => {
                        self.fail_all(e, queue);
                        return;
                    }
                }
                if !writable(self.fd) {
                    return;
                }
            }
            self.phase = Phase::Open;
            if self.local.is_none() {
                self.local = local_addr(self.fd);
            }
        }
        if self.phase != Phase::Open {
            return;
        }
        if !self.initial.is_empty() {
            match write_some(self.fd, &self.initial) {
                Ok(n) => {
                    self.initial.drain(..n);
                }
                Err(e) => {
                    self.fail_all(e, queue);
                    return;
                }
            }
            if !self.initial.is_empty() {
                return;
            }
        }
        if let Some(t) = self.connect_token.take() {
            queue.push_back(Event {
                token: t,
                kind: kind::CONNECT,
                status: 0,
                local: self.local,
                data: vec![],
            });
        }
        if let Some((t, buf, off)) = self.send.as_mut() {
            match write_some(self.fd, &buf[*off..]) {
                Ok(n) => {
                    *off += n;
                    if *off == buf.len() {
                        let total = buf.len() as i32;
                        let t = *t;
                        self.send = None;
                        queue.push_back(Event::status_only(t, kind::SEND, total));
                    }
                }
                Err(e) => {
                    let t = *t;
                    self.send = None;
                    queue.push_back(Event::status_only(t, kind::SEND, -e));
                }
            }
        }
        if let Some((t, max)) = self.recv {
            match read_some(self.fd, max) {
                Ok(None) => {}
                Ok(Some(data)) => {
                    self.recv = None;
                    let status = data.len() as i32;
                    queue.push_back(Event {
                        token: t,
                        kind: kind::RECV,
                        status,
                        local: None,
                        data,
                    });
                }
                Err(e) => {
                    self.recv = None;
                    queue.push_back(Event::status_only(t, kind::RECV, -e));
                }
            }
        }
    }
}

/// Errors of submissions (mapped to the C ABI's status codes by `sock`).
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// No such socket (closed or never opened).
    Closed,
    /// An operation of the same kind is already pending, or the argument is invalid.
    Invalid(&'static str),
}

impl Reactor {
    /// Creates the epoll instance and its wake-up eventfd.
    pub fn new() -> Result<Reactor, i32> {
        // SAFETY: plain syscalls; fds are checked.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(errno());
        }
        // SAFETY: plain syscall.
        let wakefd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if wakefd < 0 {
            let e = errno();
            // SAFETY: epfd is ours.
            unsafe { libc::close(epfd) };
            return Err(e);
        }
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: WAKE_KEY,
        };
        // SAFETY: valid fds and event.
        if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, wakefd, &mut ev) } < 0 {
            let e = errno();
            // SAFETY: both fds are ours.
            unsafe {
                libc::close(wakefd);
                libc::close(epfd);
            }
            return Err(e);
        }
        Ok(Reactor {
            epfd,
            wakefd,
            inner: Mutex::new(Inner {
                socks: HashMap::new(),
                next_id: 1,
                queue: VecDeque::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock cannot happen with panic = "abort"; recover anyway.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes an in-flight `poll` return now.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.wakefd, &one as *const u64 as *const libc::c_void, 8) };
    }

    /// Re-arms (or first registers) a socket's one-shot interest after it made progress, and
    /// wakes the poller if completions were queued.
    fn settle(&self, id: u32, g: &mut Inner, queued_before: usize, fresh: bool) {
        if let Some(s) = g.socks.get(&id) {
            if s.fd >= 0 && s.phase != Phase::Failed {
                let want = s.interest();
                let mut ev = libc::epoll_event {
                    events: want | libc::EPOLLONESHOT as u32,
                    u64: id as u64,
                };
                let op = if fresh {
                    libc::EPOLL_CTL_ADD
                } else {
                    libc::EPOLL_CTL_MOD
                };
                // An empty interest with ONESHOT keeps the fd registered but silent (EPOLLERR
                // and EPOLLHUP are disarmed too until the next MOD).
                // SAFETY: valid fds and event.
                unsafe { libc::epoll_ctl(self.epfd, op, s.fd, &mut ev) };
            }
        }
        if g.queue.len() > queued_before {
            self.wake();
        }
    }

    /// Starts a connect; returns the socket id. OS errors are not returned here: they complete
    /// the connect with `-errno` so that the caller has one path for every failure.
    pub fn connect(&self, o: &ConnectOpts, initial: &[u8], token: u64) -> Result<u32, SubmitError> {
        if initial.is_empty() == o.fastopen {
            return Err(SubmitError::Invalid(
                "fast open needs initial data, and only it takes any",
            ));
        }
        let mut g = self.lock();
        let mut id = g.next_id;
        // ids wrap after 2^32 sockets: skip one still open
        while g.socks.contains_key(&id) {
            id = id.wrapping_add(1).max(1);
        }
        g.next_id = id.wrapping_add(1).max(1);
        let before = g.queue.len();
        let mut s = Sock {
            fd: -1,
            phase: Phase::Connecting,
            err: 0,
            local: None,
            connect_token: Some(token),
            initial: initial.to_vec(),
            syn_sent: false,
            send: None,
            recv: None,
        };
        match open_and_connect(o) {
            Ok((fd, done)) => {
                s.fd = fd;
                // The port is chosen by connect(): record it now, a failed handshake reports it too.
                s.local = local_addr(fd);
                if done {
                    s.phase = Phase::Open;
                }
                s.progress(&mut g.queue);
            }
            Err((fd, e)) => {
                s.fd = fd;
                if fd >= 0 {
                    s.local = local_addr(fd);
                }
                s.fail_all(e, &mut g.queue);
            }
        }
        g.socks.insert(id, s);
        self.settle(id, &mut g, before, true);
        Ok(id)
    }

    /// Queues bytes to send; completes when all are written.
    pub fn send(&self, id: u32, buf: &[u8], token: u64) -> Result<(), SubmitError> {
        let mut g = self.lock();
        let before = g.queue.len();
        let Inner { socks, queue, .. } = &mut *g;
        let s = socks.get_mut(&id).ok_or(SubmitError::Closed)?;
        if s.send.is_some() {
            return Err(SubmitError::Invalid(
                "a send is already pending on this socket",
            ));
        }
        if s.phase == Phase::Failed {
            queue.push_back(Event::status_only(token, kind::SEND, -s.err));
        } else {
            s.send = Some((token, buf.to_vec(), 0));
            if s.phase == Phase::Open {
                s.progress(queue);
            }
        }
        self.settle(id, &mut g, before, false);
        Ok(())
    }

    /// Asks for up to `max` bytes; completes as soon as at least one byte (or end of stream) came.
    pub fn recv(&self, id: u32, max: usize, token: u64) -> Result<(), SubmitError> {
        if max == 0 || max > MAX_RECV {
            return Err(SubmitError::Invalid("receive size must be 1..65536"));
        }
        let mut g = self.lock();
        let before = g.queue.len();
        let Inner { socks, queue, .. } = &mut *g;
        let s = socks.get_mut(&id).ok_or(SubmitError::Closed)?;
        if s.recv.is_some() {
            return Err(SubmitError::Invalid(
                "a receive is already pending on this socket",
            ));
        }
        if s.phase == Phase::Failed {
            queue.push_back(Event::status_only(token, kind::RECV, -s.err));
        } else {
            s.recv = Some((token, max));
            if s.phase == Phase::Open {
                s.progress(queue);
            }
        }
        self.settle(id, &mut g, before, false);
        Ok(())
    }

    /// The socket's local address, if it has one.
    pub fn local(&self, id: u32) -> Result<Option<SocketAddr>, SubmitError> {
        let g = self.lock();
        let s = g.socks.get(&id).ok_or(SubmitError::Closed)?;
        Ok(s.local
            .or_else(|| if s.fd >= 0 { local_addr(s.fd) } else { None }))
    }

    /// Closes the socket; pending operations are dropped without completion. `abort` sends a
    /// reset (SO_LINGER 0) instead of the orderly FIN.
    pub fn close(&self, id: u32, abort: bool) -> Result<(), SubmitError> {
        let s = {
            let mut g = self.lock();
            g.socks.remove(&id).ok_or(SubmitError::Closed)?
        };
        if abort && s.fd >= 0 {
            let l = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: valid pointer to a linger and its size.
            unsafe {
                libc::setsockopt(
                    s.fd,
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &l as *const libc::linger as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
        }
        drop(s);
        Ok(())
    }

    /// Number of open sockets.
    pub fn open_count(&self) -> usize {
        self.lock().socks.len()
    }

    /// Waits up to `timeout_ms` for readiness, makes progress, and writes as many queued events
    /// as fit into `out`. Returns the number of events written.
    pub fn poll(&self, out: &mut [u8], timeout_ms: i32) -> Result<usize, i32> {
        let has_queued = !self.lock().queue.is_empty();
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 256];
        let wait = if has_queued { 0 } else { timeout_ms };
        // SAFETY: valid epoll fd and event array of the given length.
        let n = unsafe { libc::epoll_wait(self.epfd, evs.as_mut_ptr(), evs.len() as i32, wait) };
        if n < 0 {
            let e = errno();
            if e != libc::EINTR {
                return Err(e);
            }
        }
        let mut g = self.lock();
        for ev in evs.iter().take(n.max(0) as usize) {
            let key = ev.u64;
            if key == WAKE_KEY {
                let mut v: u64 = 0;
                // SAFETY: reads 8 bytes into a live u64 from our eventfd.
                unsafe { libc::read(self.wakefd, &mut v as *mut u64 as *mut libc::c_void, 8) };
                continue;
            }
            let id = key as u32;
            let Inner { socks, queue, .. } = &mut *g;
            let Some(s) = socks.get_mut(&id) else {
                continue;
            };
            if s.phase == Phase::Connecting
                && ev.events & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0
                && so_error(s.fd) == 0
            {
                // Hang-up without a pending error: treat as refused rather than spin.
                s.fail_all(libc::ECONNRESET, queue);
            } else {
                s.progress(queue);
            }
            // Re-arm without waking ourselves: we are the poller.
            if let Some(s) = g.socks.get(&id) {
                if s.fd >= 0 && s.phase != Phase::Failed {
                    let mut e2 = libc::epoll_event {
                        events: s.interest() | libc::EPOLLONESHOT as u32,
                        u64: id as u64,
                    };
                    // SAFETY: valid fds and event.
                    unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_MOD, s.fd, &mut e2) };
                }
            }
        }
        let mut used = 0usize;
        let mut count = 0usize;
        while let Some(e) = g.queue.front() {
            match e.encode(&mut out[used..]) {
                Some(n) => {
                    used += n;
                    count += 1;
                    g.queue.pop_front();
                }
                None => break,
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock_wire::Proto;

    /// Moves the test's thread into a fresh network namespace with `lo` up, so that the test's
    /// traffic never touches the host's loopback. False (test skipped) without CAP_SYS_ADMIN.
    fn private_netns() -> bool {
        // SAFETY: unshare affects only this thread; ifreq is plain old data; fds are closed.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                eprintln!("skipped: cannot create a network namespace (needs root)");
                return false;
            }
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
            let mut ifr: libc::ifreq = std::mem::zeroed();
            ifr.ifr_name[..2].copy_from_slice(&[b'l' as libc::c_char, b'o' as libc::c_char]);
            let ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) == 0 && {
                ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
                libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut ifr) == 0
            };
            libc::close(fd);
            assert!(ok, "cannot bring lo up in the private namespace");
        }
        true
    }

    fn opts(dst: &str, proto: Proto) -> ConnectOpts {
        ConnectOpts {
            proto,
            dst: dst.parse().unwrap(),
            tos: Some(46 << 2),
            mss: None,
            bind: None,
            fastopen: false,
            nodelay: false,
        }
    }

    fn poll_until(r: &Reactor, want: usize) -> Vec<(u64, u8, i32, Vec<u8>)> {
        let mut got = vec![];
        let mut out = vec![0u8; 1 << 16];
        for _ in 0..50 {
            let n = r.poll(&mut out, 100).unwrap();
            let mut off = 0;
            for _ in 0..n {
                let token = u64::from_le_bytes(out[off..off + 8].try_into().unwrap());
                let status = i32::from_le_bytes(out[off + 12..off + 16].try_into().unwrap());
                let len = u32::from_le_bytes(out[off + 16..off + 20].try_into().unwrap()) as usize;
                got.push((
                    token,
                    out[off + 8],
                    status,
                    out[off + 40..off + 40 + len].to_vec(),
                ));
                off += (40 + len + 7) & !7;
            }
            if got.len() >= want {
                break;
            }
        }
        got
    }

    #[test]
    fn connects_sends_and_receives_over_tcp_in_a_private_namespace() {
        if !private_netns() {
            return;
        }
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let r = Reactor::new().unwrap();
        let id = r
            .connect(&opts(&format!("127.0.0.1:{port}"), Proto::Tcp), &[], 7)
            .unwrap();
        let (mut peer, _) = l.accept().unwrap();
        let ev = poll_until(&r, 1);
        assert_eq!(ev[0].0, 7);
        assert_eq!(ev[0].1, kind::CONNECT);
        assert_eq!(ev[0].2, 0);
        assert!(r.local(id).unwrap().unwrap().port() > 0);
        r.send(id, b"ping", 8).unwrap();
        r.recv(id, 100, 9).unwrap();
        use std::io::{Read, Write};
        let mut b = [0u8; 4];
        peer.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
        peer.write_all(b"pong").unwrap();
        let ev = poll_until(&r, 2);
        assert!(ev.contains(&(8, kind::SEND, 4, vec![])));
        assert!(ev.contains(&(9, kind::RECV, 4, b"pong".to_vec())));
        r.close(id, false).unwrap();
        assert_eq!(r.close(id, false), Err(SubmitError::Closed));
        assert_eq!(r.open_count(), 0);
    }

    #[test]
    fn reports_a_refused_connect_as_minus_econnrefused() {
        if !private_netns() {
            return;
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let r = Reactor::new().unwrap();
        let id = r
            .connect(&opts(&format!("127.0.0.1:{port}"), Proto::Tcp), &[], 1)
            .unwrap();
        let ev = poll_until(&r, 1);
        assert_eq!(ev[0].2, -libc::ECONNREFUSED);
        r.close(id, true).unwrap();
    }

    #[test]
    fn udp_connects_at_once_and_reports_port_unreachable_on_receive() {
        if !private_netns() {
            return;
        }
        let port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let r = Reactor::new().unwrap();
        let id = r
            .connect(&opts(&format!("127.0.0.1:{port}"), Proto::Udp), &[], 1)
            .unwrap();
        r.send(id, b"q", 2).unwrap();
        r.recv(id, 512, 3).unwrap();
        let ev = poll_until(&r, 3);
        assert_eq!(ev[0], (1, kind::CONNECT, 0, vec![]));
        assert!(ev.contains(&(2, kind::SEND, 1, vec![])));
        assert!(ev.contains(&(3, kind::RECV, -libc::ECONNREFUSED, vec![])));
        r.close(id, false).unwrap();
    }

    #[test]
    fn rejects_a_second_pending_receive() {
        if !private_netns() {
            return;
        }
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        let r = Reactor::new().unwrap();
        let id = r
            .connect(&opts(&format!("127.0.0.1:{port}"), Proto::Udp), &[], 1)
            .unwrap();
        r.recv(id, 10, 2).unwrap();
        assert!(matches!(r.recv(id, 10, 3), Err(SubmitError::Invalid(_))));
        assert!(matches!(r.recv(id, 0, 3), Err(SubmitError::Invalid(_))));
        r.close(id, false).unwrap();
    }
}
