//! `serve --shard K/N`: which sites this replica owns.
//!
//! Every replica lists every site; it keeps only those whose [`site_hash`] modulo `N` is
//! `K - 1`. The hash depends only on the site id's bytes, so every replica, on every
//! platform and in every version, agrees on the owner of each site: the replicas' sites are
//! disjoint and together they are all sites.

use std::fmt;
use std::str::FromStr;

/// FNV-1a, 64 bits, of the site id's UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`). This is part of the documented contract: changing it would move sites
/// between replicas.
///
/// ```
/// use pantheon_metrics::serve::site_hash;
/// assert_eq!(site_hash(""), 0xcbf29ce484222325);
/// assert_eq!(site_hash("a"), 0xaf63dc4c8601ec8c);
/// assert_eq!(site_hash("foobar"), 0x85944171f73967e8);
/// assert_eq!(site_hash("6a7b9f52-0a7c-4c2e-9a51-2f0c1c1d8e11"), 0x4b8931bc45756bc7);
/// ```
pub fn site_hash(site_id: &str) -> u64 {
    crate::hash::fnv1a_64(site_id.as_bytes())
}

/// One replica's share of the sites: shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count`; `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "shard {index}/{count} is out of range: expected K/N with 1 <= K <= N"
            ));
        }
        Ok(Shard { index, count })
    }

    /// The replica that owns everything.
    pub fn all() -> Shard {
        Shard { index: 1, count: 1 }
    }

    /// 1-based.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// True when this replica fetches and exports `site_id`.
    ///
    /// ```
    /// use pantheon_metrics::serve::Shard;
    /// let shards: Vec<Shard> = (1..=3).map(|k| Shard::new(k, 3).unwrap()).collect();
    /// for id in ["a", "b", "c", "foobar"] {
    ///     assert_eq!(shards.iter().filter(|s| s.owns(id)).count(), 1);
    /// }
    /// assert!(Shard::new(1, 3).unwrap().owns("foobar")); // 0x85944171f73967e8 % 3 == 0
    /// ```
    pub fn owns(&self, site_id: &str) -> bool {
        site_hash(site_id) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::all()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, e.g. `2/3`.
    ///
    /// ```
    /// use pantheon_metrics::serve::Shard;
    /// assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
    /// for bad in ["", "3", "0/3", "4/3", "1/0", "a/b", "1/2/3", "-1/2", "1 /2x"] {
    ///     assert!(bad.parse::<Shard>().is_err(), "{bad}");
    /// }
    /// ```
    fn from_str(s: &str) -> Result<Shard, String> {
        let malformed = || format!("invalid shard {s:?}: expected K/N, e.g. 1/3");
        let (k, n) = s.trim().split_once('/').ok_or_else(malformed)?;
        let num = |v: &str| -> Result<u32, String> {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            v.parse().map_err(|_| malformed())
        };
        Shard::new(num(k)?, num(n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_many_ids_evenly() {
        let n = 4;
        let shards: Vec<Shard> = (1..=n).map(|k| Shard::new(k, n).unwrap()).collect();
        let mut counts = vec![0usize; n as usize];
        for i in 0..4000 {
            let id = crate::fake::fake_uuid(&format!("site:{i}"));
            let owners: Vec<usize> = shards
                .iter()
                .enumerate()
                .filter(|(_, s)| s.owns(&id))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(owners.len(), 1);
            counts[owners[0]] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..=1200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn one_shard_owns_everything() {
        assert!(Shard::all().owns("anything"));
        assert!("1/1".parse::<Shard>().unwrap().owns(""));
    }
}
