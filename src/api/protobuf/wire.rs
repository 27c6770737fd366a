//! The protobuf wire format, just enough to walk a message: every read is
//! bounds-checked, so a truncated or hostile body is an error, never a panic.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type WireResult<T> = Result<T, WireError>;

fn err<T>(msg: impl Into<String>) -> WireResult<T> {
    Err(WireError(msg.into()))
}

/// One field's payload, by wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl Wire<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64(_) => "fixed64",
            Wire::Len(_) => "length-delimited",
            Wire::Fixed32(_) => "fixed32",
        }
    }
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn varint(&mut self) -> WireResult<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return err("unexpected end of data in varint");
            };
            self.pos += 1;
            // The 10th byte may only carry the top bit of a u64.
            if i == 9 && b > 1 {
                return err("varint overflows 64 bits");
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        err("varint overflows 64 bits")
    }

    fn take(&mut self, n: usize) -> WireResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return err(format!("unexpected end of data: need {n} bytes at offset {}", self.pos));
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> WireResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// The next field as (number, payload), or `None` at the end.
    pub fn field(&mut self) -> WireResult<Option<(u32, Wire<'a>)>> {
        if self.at_end() {
            return Ok(None);
        }
        let key = self.varint()?;
        let num = key >> 3;
        if num == 0 || num > u64::from(u32::MAX >> 3) {
            return err(format!("illegal field number {num}"));
        }
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.fixed::<8>()?)),
            2 => {
                let n = self.varint()?;
                let n = usize::try_from(n).map_err(|_| WireError("length too large".into()))?;
                Wire::Len(self.take(n)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.fixed::<4>()?)),
            // Groups (3, 4) are proto1 relics Kubernetes never emits.
            w => return err(format!("unsupported wire type {w} for field {num}")),
        };
        Ok(Some((num as u32, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint(), Ok(150));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint(), Ok(u64::MAX));
        assert!(Reader::new(&[0xff; 10]).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn fields_and_truncation() {
        // 1: varint 1; 2: "hi"; 3: fixed64; 4: fixed32
        let buf = [8, 1, 0x12, 2, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0];
        let mut r = Reader::new(&buf);
        assert_eq!(r.field(), Ok(Some((1, Wire::Varint(1)))));
        assert_eq!(r.field(), Ok(Some((2, Wire::Len(b"hi")))));
        assert_eq!(r.field(), Ok(Some((3, Wire::Fixed64(1)))));
        assert_eq!(r.field(), Ok(Some((4, Wire::Fixed32(2)))));
        assert_eq!(r.field(), Ok(None));
        for cut in 1..buf.len() {
            let mut r = Reader::new(&buf[..cut]);
            while let Ok(Some(_)) = r.field() {}
        }
        assert!(Reader::new(&[0x12, 5, b'a']).field().is_err());
        assert!(Reader::new(&[0x0b]).field().is_err(), "group start");
        assert!(Reader::new(&[0x00, 0x00]).field().is_err(), "field 0");
    }
}
