//! Little-endian reads of file data that return `None` past the end (never panic on a hostile
//! offset, even one near `usize::MAX`). One copy here, shared by every parser of the app; the
//! `procmon-pml` crate keeps its own, as it depends on nothing of the app.

/// The byte at `off`.
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// The `N` bytes at `off`.
fn bytes_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

pub fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    bytes_at(b, off).map(u16::from_le_bytes)
}

pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    bytes_at(b, off).map(u32::from_le_bytes)
}

pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    bytes_at(b, off).map(u64::from_le_bytes)
}

/// UTF-16LE text of `units` code units at `off`, lossily decoded, stopping at a NUL.
pub fn utf16_at(b: &[u8], off: usize, units: usize) -> Option<String> {
    let s = b.get(off..off.checked_add(units.checked_mul(2)?)?)?;
    let v: Vec<u16> = s
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&c| c != 0)
        .collect();
    Some(String::from_utf16_lossy(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_stops_at_the_end() {
        let b = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        assert_eq!(u8_at(&b, 7), Some(0x08));
        assert_eq!(u16_at(&b, 0), Some(0x0201));
        assert_eq!(u32_at(&b, 4), Some(0x0807_0605));
        assert_eq!(u64_at(&b, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(u8_at(&b, 8), None);
        assert_eq!(u16_at(&b, 7), None);
        assert_eq!(u32_at(&b, 5), None);
        assert_eq!(u64_at(&b, 1), None);
        assert_eq!(u32_at(&b, usize::MAX - 1), None);
        assert_eq!(utf16_at(b"A\0B\0\0\0C\0", 0, 4).as_deref(), Some("AB"));
        assert_eq!(utf16_at(b"A\0", 0, 2), None);
    }
}
