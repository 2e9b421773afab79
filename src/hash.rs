//! FNV-1a, 64 bits: the one stable hash of the crate.
//!
//! Shard ownership (`serve --shard`) and the exposition's group boundaries are derived from
//! it, so its values are a contract: they must be the same on every platform and in every
//! version. The standard library's hasher is randomly keyed and may change between
//! releases, so it cannot serve here.

use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a offset basis.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits, of `bytes`.
///
/// ```
/// use pantheon_metrics::hash::fnv1a_64;
/// assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
/// assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
/// assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
/// ```
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(bytes);
    h.finish()
}

/// FNV-1a as a [`Hasher`], for maps whose keys we make ourselves (site ids, serials): no
/// attacker picks them, so SipHash's flood resistance buys nothing and costs time.
///
/// [`Hasher::write_u64`] folds the whole word in one step (faster for integer keys); it is
/// not the byte-wise FNV-1a of the word's bytes, which only [`Hasher::write`] computes.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(OFFSET_BASIS)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(PRIME);
    }
}

/// Builds [`Fnv1a`] hashers: `HashMap<K, V, BuildFnv1a>`.
pub type BuildFnv1a = BuildHasherDefault<Fnv1a>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Published FNV-1a 64 test vectors (the reference implementation's suite).
    #[test]
    fn matches_the_reference_vectors() {
        for (input, want) in [
            (&b""[..], 0xcbf2_9ce4_8422_2325),
            (b"a", 0xaf63_dc4c_8601_ec8c),
            (b"b", 0xaf63_df4c_8601_f1a5),
            (b"foo", 0xdcb2_7518_fed9_d577),
            (b"foobar", 0x8594_4171_f739_67e8),
        ] {
            assert_eq!(
                fnv1a_64(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn writes_in_pieces_hash_like_one_write() {
        let mut h = Fnv1a::default();
        h.write(b"foo");
        h.write(b"bar");
        assert_eq!(h.finish(), fnv1a_64(b"foobar"));
    }

    #[test]
    fn write_u64_folds_the_word_in_one_step() {
        let mut h = Fnv1a::default();
        h.write_u64(7);
        assert_eq!(h.finish(), (OFFSET_BASIS ^ 7).wrapping_mul(PRIME));
    }

    #[test]
    fn maps_work_with_the_builder() {
        let mut m: HashMap<u64, &str, BuildFnv1a> = HashMap::default();
        m.insert(1, "one");
        m.insert(2, "two");
        assert_eq!(m.get(&2), Some(&"two"));
        assert_eq!(m.get(&3), None);
    }
}
