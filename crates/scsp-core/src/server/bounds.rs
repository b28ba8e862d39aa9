//! The cache's bounds ([`ServerConfig::max_entries`], [`ServerConfig::max_cache_bytes`]): what
//! may be stored.

use super::*;
use crate::cache::{ENTRY_OVERHEAD, entry_cost};

impl Server {
    /// Whether the cache may take an instance of `id` holding `data`, `held` being the entry it
    /// holds for `id` (if any). A new entry must fit within both bounds. A newer instance of an
    /// entry held is always taken when it costs no more than the one it replaces, and when it
    /// costs more, as long as the total stays within the byte bound plus the largest cost of one
    /// record ([`Server::cache_slack`]): an entry that grows near the bound is not refused, and
    /// entries growing one after another cannot take the cache further past it.
    pub(super) fn admit(
        &self,
        id: &RecordId,
        data: &[u8],
        held: Option<&Entry>,
    ) -> Result<(), LocalError> {
        let cost = entry_cost(id, data);
        let bytes = self.cache.bytes();
        let max = self.cfg.max_cache_bytes;
        match held {
            None if self.cache.len() >= self.cfg.max_entries => Err(LocalError::Full),
            None if bytes.saturating_add(cost) > max => Err(LocalError::CacheBytes { max }),
            None => Ok(()),
            Some(e) => {
                let old = entry_cost(id, &e.data);
                if cost <= old
                    || (bytes - old).saturating_add(cost) <= max.saturating_add(self.cache_slack())
                {
                    Ok(())
                } else {
                    Err(LocalError::CacheBytes { max })
                }
            }
        }
    }

    /// How far past [`ServerConfig::max_cache_bytes`] newer instances of entries held may take
    /// the cache: the cost of the largest record that fits a packet.
    pub(super) fn cache_slack(&self) -> usize {
        self.max_record_len() + 2 * 255 + ENTRY_OVERHEAD
    }

    /// Room to make at once for `missing` entries an alignment will learn: no more than both
    /// bounds leave, counting each entry at its least cost.
    pub(super) fn cache_room(&self, missing: usize) -> usize {
        cache_room(&self.cfg, &self.cache, missing)
    }
}

/// See [`Server::cache_room`] (of the configuration and the cache alone, for a handler that
/// holds a DCS).
pub(super) fn cache_room(cfg: &crate::ServerConfig, cache: &crate::Cache, missing: usize) -> usize {
    let by_count = cfg.max_entries.saturating_sub(cache.len());
    let by_bytes = cfg.max_cache_bytes.saturating_sub(cache.bytes()) / ENTRY_OVERHEAD;
    missing.min(by_count).min(by_bytes)
}
