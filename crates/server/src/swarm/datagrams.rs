//! Datagrams in batches: the UDP tracker reads every packet waiting on its
//! socket with one `recvmmsg(2)` and sends the answers with one
//! `sendmmsg(2)` (nix's safe wrappers; elsewhere than Linux, one
//! `recv_from`/`send_to` each).
//!
//! Under load a socket holds many packets: one system call for all of them
//! saves a call per packet, and the readers woken by the answers run once
//! the batch is sent instead of after each answer (each wake-up of a
//! reader on the same core preempted the tracker before).

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Packets received together, each in a buffer of its own.
pub(crate) struct Inbox {
    /// One buffer per packet, each `packet_max + 1` bytes (so that a longer
    /// datagram, cut to the buffer, is seen as too long).
    bufs: Vec<Vec<u8>>,
    /// The length and sender of each packet received by the last
    /// [`Inbox::recv`].
    got: Vec<(usize, SocketAddr)>,
    #[cfg(target_os = "linux")]
    headers: nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrStorage>,
}

impl Inbox {
    /// Room for `batch` packets of at most `packet_max` bytes.
    pub(crate) fn new(batch: usize, packet_max: usize) -> Self {
        let batch = batch.max(1);
        Inbox {
            bufs: vec![vec![0; packet_max + 1]; batch],
            got: Vec::with_capacity(batch),
            #[cfg(target_os = "linux")]
            headers: nix::sys::socket::MultiHeaders::preallocate(batch, None),
        }
    }

    /// Waits for a packet (as long as the socket's read timeout) and takes
    /// it with every other one already waiting, up to the batch: how many.
    #[cfg(target_os = "linux")]
    pub(crate) fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        use nix::sys::socket::{MsgFlags, recvmmsg};
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd as _;

        let Inbox { bufs, got, headers } = self;
        got.clear();
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = bufs
            .iter_mut()
            .map(|b| [IoSliceMut::new(b.as_mut_slice())])
            .collect();
        let received = recvmmsg(
            socket.as_raw_fd(),
            headers,
            slices.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        )
        .map_err(io::Error::from)?;
        for msg in received {
            // A datagram without a sender (none over UDP) cannot be answered.
            let from = msg.address.and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::V4((*v4).into()))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into())))
            });
            if let Some(from) = from {
                got.push((msg.bytes, from));
            }
        }
        Ok(got.len())
    }

    /// Waits for one packet (as long as the socket's read timeout).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.got.clear();
        let buf = self.bufs.first_mut().ok_or(io::ErrorKind::InvalidInput)?;
        let (len, from) = socket.recv_from(buf)?;
        self.got.push((len, from));
        Ok(1)
    }

    /// The packets the last [`Inbox::recv`] took, with their senders.
    pub(crate) fn packets(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        self.got
            .iter()
            .zip(&self.bufs)
            .map(|(&(len, from), buf)| (buf.get(..len).unwrap_or(buf), from))
    }
}

/// Sends each packet to its address, as few system calls as the kernel
/// takes them in; a packet the kernel refuses is skipped (with `failed`
/// told why), as a lost datagram is.
#[cfg(target_os = "linux")]
pub(crate) fn send_all(
    socket: &UdpSocket,
    packets: &[(SocketAddr, &[u8])],
    headers: &mut nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrStorage>,
    mut failed: impl FnMut(SocketAddr, io::Error),
) {
    use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmmsg};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd as _;

    let mut rest = packets;
    while !rest.is_empty() {
        let slices: Vec<[IoSlice<'_>; 1]> = rest.iter().map(|(_, p)| [IoSlice::new(p)]).collect();
        let addrs: Vec<Option<SockaddrStorage>> = rest
            .iter()
            .map(|(a, _)| Some(SockaddrStorage::from(*a)))
            .collect();
        let no_control: [ControlMessage<'_>; 0] = [];
        let sent = sendmmsg(
            socket.as_raw_fd(),
            headers,
            slices.iter(),
            &addrs,
            no_control,
            MsgFlags::empty(),
        )
        .map(Iterator::count);
        match sent {
            Ok(n) if n > 0 => rest = rest.get(n..).unwrap_or_default(),
            // The first one failed: skip it, send the rest.
            Ok(_) => {
                if let Some((to, _)) = rest.first() {
                    failed(*to, io::Error::other("not sent"));
                }
                rest = rest.get(1..).unwrap_or_default();
            }
            Err(e) => {
                if let Some((to, _)) = rest.first() {
                    failed(*to, io::Error::from(e));
                }
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
}

/// The headers [`send_all`] reuses for a batch of `batch` packets.
#[cfg(target_os = "linux")]
pub(crate) fn send_headers(
    batch: usize,
) -> nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrStorage> {
    nix::sys::socket::MultiHeaders::preallocate(batch.max(1), None)
}

/// Sends each packet to its address; one the kernel refuses is skipped
/// (with `failed` told why), as a lost datagram is.
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_all(
    socket: &UdpSocket,
    packets: &[(SocketAddr, &[u8])],
    _headers: &mut (),
    mut failed: impl FnMut(SocketAddr, io::Error),
) {
    for (to, packet) in packets {
        if let Err(e) = socket.send_to(packet, to) {
            failed(*to, e);
        }
    }
}

/// Nothing to reuse without `sendmmsg`.
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_headers(_batch: usize) {}
