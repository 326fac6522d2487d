//! Accepting on a thread of its own, and holding connections whose request
//! has not arrived yet: one epoll over the listener and those connections,
//! so that a thread answering one-shot requests neither blocks on a slow
//! client nor hands every early connection to the runtime.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd as _;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use tokio::sync::watch;

use super::listen::AcceptFailures;

/// The epoll token of the listener (a held connection's is its number).
const LISTENER: u64 = u64::MAX;

/// The most connections accepted at one wake-up before the held ones are
/// looked at again.
const ACCEPT_BATCH: usize = 64;

/// The most events taken from the epoll at once.
const EVENTS: usize = 64;

/// What became ready: a new connection, or a held one.
#[derive(Debug)]
pub(crate) enum Arrival<T> {
    /// Accepted now (a blocking socket, as `accept` makes it: read it
    /// with `MSG_DONTWAIT`, or make it non-blocking).
    Accepted(TcpStream, SocketAddr),
    /// A held connection is readable (its request arrived, or it closed).
    Readable(TcpStream, T),
    /// A held connection sent nothing within the wait it was held for.
    Waited(TcpStream, T),
}

/// What [`Arrivals::hold`] could not take.
#[derive(Debug)]
pub(crate) struct NotHeld<T>(pub(crate) TcpStream, pub(crate) T);

/// One thread's listener and the connections it holds until their first
/// bytes arrive, or until a wait each, at most `limit` of them.
pub(crate) struct Arrivals<T> {
    epoll: Epoll,
    listener: TcpListener,
    held: HashMap<u64, (TcpStream, T)>,
    /// When each held connection's wait ends, in the order they were held
    /// (the wait is the same for all, so that is their deadlines' order).
    deadlines: VecDeque<(Instant, u64)>,
    next: u64,
    wait: Duration,
    limit: usize,
    failures: AcceptFailures,
}

impl<T> Arrivals<T> {
    /// Watches `listener` (made non-blocking). With several threads on
    /// clones of one listener, a new connection wakes only one of them
    /// (`EPOLLEXCLUSIVE`).
    pub(crate) fn new(
        listener: TcpListener,
        wait: Duration,
        limit: usize,
        what: &'static str,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(
            listener.as_fd(),
            EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLEXCLUSIVE, LISTENER),
        )?;
        Ok(Self {
            epoll,
            listener,
            held: HashMap::new(),
            deadlines: VecDeque::new(),
            next: 0,
            wait,
            limit,
            failures: AcceptFailures::new(what),
        })
    }

    /// Waits for what is ready (looking at `shutdown` at least every
    /// `poll`) and puts it in `out`: `false` once `shutdown` is true.
    pub(crate) fn next(
        &mut self,
        shutdown: &watch::Receiver<bool>,
        poll: Duration,
        out: &mut Vec<Arrival<T>>,
    ) -> bool {
        let mut events = [EpollEvent::empty(); EVENTS];
        while out.is_empty() {
            if *shutdown.borrow() {
                return false;
            }
            let now = Instant::now();
            let timeout = self
                .deadlines
                .front()
                .map_or(poll, |(at, _)| at.saturating_duration_since(now).min(poll));
            // Whole milliseconds, rounded up: a wait never ends early.
            let millis = u16::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
            let n = match self.epoll.wait(&mut events, millis) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(e) => {
                    self.failures.failed(&std::io::Error::from(e));
                    std::thread::sleep(super::listen::ACCEPT_BACKOFF);
                    0
                }
            };
            for event in events.get(..n).unwrap_or_default() {
                if event.data() == LISTENER {
                    self.accept(out);
                } else if let Some((stream, tag)) = self.take(event.data()) {
                    out.push(Arrival::Readable(stream, tag));
                }
            }
            let now = Instant::now();
            while let Some(&(at, token)) = self.deadlines.front() {
                if at > now {
                    break;
                }
                self.deadlines.pop_front();
                if let Some((stream, tag)) = self.take(token) {
                    out.push(Arrival::Waited(stream, tag));
                }
            }
        }
        true
    }

    /// Holds `stream` until it is readable or its wait is over; gives it
    /// back when `limit` are held already (or it cannot be watched).
    pub(crate) fn hold(&mut self, stream: TcpStream, tag: T) -> Result<(), NotHeld<T>> {
        if self.held.len() >= self.limit {
            return Err(NotHeld(stream, tag));
        }
        let token = self.next;
        self.next = self.next.wrapping_add(1) % LISTENER;
        // One event, then the connection is no longer watched: nothing
        // to remove when it is answered and closed, or handed on (its
        // entry goes when it closes).
        let event = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, token);
        if self.epoll.add(stream.as_fd(), event).is_err() {
            return Err(NotHeld(stream, tag));
        }
        self.deadlines
            .push_back((Instant::now() + self.wait, token));
        self.held.insert(token, (stream, tag));
        Ok(())
    }

    /// How many connections are held now.
    #[cfg(test)]
    fn holding(&self) -> usize {
        self.held.len()
    }

    /// The held connection `token`. It is watched until its one event
    /// (a late one finds no connection held under its token).
    fn take(&mut self, token: u64) -> Option<(TcpStream, T)> {
        self.held.remove(&token)
    }

    /// Takes the connections waiting on the listener, up to a batch.
    fn accept(&mut self, out: &mut Vec<Arrival<T>>) {
        for _ in 0..ACCEPT_BATCH {
            match self.listener.accept() {
                Ok((stream, remote)) => out.push(Arrival::Accepted(stream, remote)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of file descriptors, say: pause instead of
                    // spinning on a listener that stays readable.
                    self.failures.failed(&e);
                    std::thread::sleep(super::listen::ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    fn listening() -> (TcpListener, SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    }

    /// Takes arrivals until one comes (or 5 s pass).
    fn one(a: &mut Arrivals<u32>, stop: &watch::Receiver<bool>) -> Arrival<u32> {
        let mut out = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while out.is_empty() && Instant::now() < until {
            assert!(a.next(stop, Duration::from_millis(50), &mut out));
        }
        assert_eq!(out.len(), 1, "one arrival: {out:?}");
        out.pop().unwrap()
    }

    #[test]
    fn a_held_connection_comes_back_when_its_bytes_arrive() {
        let (l, addr) = listening();
        let (_tx, stop) = watch::channel(false);
        let mut a = Arrivals::new(l, Duration::from_secs(5), 4, "test").unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let Arrival::Accepted(stream, _) = one(&mut a, &stop) else {
            panic!("not accepted");
        };
        stream.set_nonblocking(true).unwrap();
        let mut buf = [0; 8];
        let early = (&stream).read(&mut buf).unwrap_err();
        assert_eq!(early.kind(), std::io::ErrorKind::WouldBlock);
        a.hold(stream, 7).unwrap();
        assert_eq!(a.holding(), 1);
        client.write_all(b"GET").unwrap();
        let Arrival::Readable(stream, 7) = one(&mut a, &stop) else {
            panic!("not readable");
        };
        assert_eq!((&stream).read(&mut buf).unwrap(), 3);
        assert_eq!(a.holding(), 0);
    }

    #[test]
    fn a_silent_connection_comes_back_when_its_wait_ends_and_no_earlier() {
        let (l, addr) = listening();
        let (_tx, stop) = watch::channel(false);
        let wait = Duration::from_millis(150);
        let mut a = Arrivals::new(l, wait, 4, "test").unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let Arrival::Accepted(stream, _) = one(&mut a, &stop) else {
            panic!("not accepted");
        };
        let held = Instant::now();
        a.hold(stream, 1).unwrap();
        let Arrival::Waited(_, 1) = one(&mut a, &stop) else {
            panic!("not waited");
        };
        assert!(held.elapsed() >= wait, "{:?}", held.elapsed());
    }

    #[test]
    fn no_more_than_the_limit_are_held() {
        let (l, addr) = listening();
        let (_tx, stop) = watch::channel(false);
        let mut a = Arrivals::new(l, Duration::from_secs(5), 2, "test").unwrap();
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut accepted = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while accepted.len() < clients.len() && Instant::now() < until {
            let mut out = Vec::new();
            assert!(a.next(&stop, Duration::from_millis(50), &mut out));
            accepted.extend(out);
        }
        let mut given_back = 0;
        for (i, arrival) in accepted.into_iter().enumerate() {
            let Arrival::Accepted(stream, _) = arrival else {
                panic!("not accepted");
            };
            if a.hold(stream, u32::try_from(i).unwrap()).is_err() {
                given_back += 1;
            }
        }
        assert_eq!((a.holding(), given_back), (2, 1));
    }

    #[test]
    fn shutdown_ends_the_wait() {
        let (l, _) = listening();
        let (tx, stop) = watch::channel(false);
        let mut a = Arrivals::<u32>::new(l, Duration::from_secs(5), 2, "test").unwrap();
        tx.send(true).unwrap();
        assert!(!a.next(&stop, Duration::from_millis(50), &mut Vec::new()));
    }
}
