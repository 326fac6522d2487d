//! The canonical encoder.

use bytes::BufMut;

use crate::value::{Kind, Value};

impl<B: AsRef<[u8]>> Value<B> {
    /// Writes the canonical encoding into `out`: dictionary keys in raw-byte
    /// order, whatever order the value holds them in.
    ///
    /// `Vec<u8>` and [`bytes::BytesMut`] are both [`BufMut`].
    ///
    /// ```
    /// use s3torrent_bencode::{Decoder, Value};
    ///
    /// // A leniently decoded dictionary is written back sorted.
    /// let v = Decoder::lenient().decode(b"d1:bi1e1:ai2ee")?;
    /// let mut out = Vec::new();
    /// v.encode_into(&mut out);
    /// assert_eq!(out, b"d1:ai2e1:bi1ee");
    /// # Ok::<(), s3torrent_bencode::Error>(())
    /// ```
    pub fn encode_into<O: BufMut + ?Sized>(&self, out: &mut O) {
        match self.kind() {
            Kind::Int(i) => write_int(out, *i),
            Kind::Bytes(b) => write_bytes(out, b.as_ref()),
            Kind::List(items) => {
                out.put_u8(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.put_u8(b'e');
            }
            Kind::Dict(d) => {
                out.put_u8(b'd');
                let mut put = |k: &B, v: &Value<B>| {
                    write_bytes(out, k.as_ref());
                    v.encode_into(out);
                };
                if d.is_sorted() {
                    d.iter().for_each(|(k, v)| put(k, v));
                } else {
                    d.sorted_entries().into_iter().for_each(|(k, v)| put(k, v));
                }
                out.put_u8(b'e');
            }
        }
    }

    /// The canonical encoding as a new vector.
    ///
    /// ```
    /// use s3torrent_bencode::{Dict, Value};
    ///
    /// let mut d = Dict::new();
    /// d.insert(&b"spam"[..], Value::list(vec![Value::int(-3), Value::bytes(&b"eggs"[..])]));
    /// d.insert(&b"cow"[..], Value::bytes(&b"moo"[..]));
    /// assert_eq!(Value::dict(d).to_vec(), b"d3:cow3:moo4:spamli-3e4:eggsee");
    /// ```
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// The exact length of the canonical encoding.
    pub fn encoded_len(&self) -> usize {
        match self.kind() {
            Kind::Int(i) => int_len(*i) + 2,
            Kind::Bytes(b) => bytes_len(b.as_ref().len()),
            Kind::List(items) => 2 + items.iter().map(Value::encoded_len).sum::<usize>(),
            Kind::Dict(d) => {
                2 + d
                    .iter()
                    .map(|(k, v)| bytes_len(k.as_ref().len()) + v.encoded_len())
                    .sum::<usize>()
            }
        }
    }
}

fn int_len(i: i64) -> usize {
    let mut buf = itoa_buf();
    format_i64(&mut buf, i).len()
}

fn bytes_len(len: usize) -> usize {
    let mut buf = itoa_buf();
    format_u64(&mut buf, len as u64).len() + 1 + len
}

pub(crate) fn write_int<O: BufMut + ?Sized>(out: &mut O, i: i64) {
    let mut buf = itoa_buf();
    out.put_u8(b'i');
    out.put_slice(format_i64(&mut buf, i));
    out.put_u8(b'e');
}

pub(crate) fn write_bytes<O: BufMut + ?Sized>(out: &mut O, b: &[u8]) {
    let mut buf = itoa_buf();
    out.put_slice(format_u64(&mut buf, b.len() as u64));
    out.put_u8(b':');
    out.put_slice(b);
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats `n` in decimal at the end of `buf` and returns the digits.
fn format_u64(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Formats `i` in decimal, with a `-` when negative. Needs 20 bytes for `i64::MIN`.
fn format_i64(buf: &mut [u8; 20], i: i64) -> &[u8] {
    let len = format_u64(buf, i.unsigned_abs()).len();
    let mut at = buf.len() - len;
    if i < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}
