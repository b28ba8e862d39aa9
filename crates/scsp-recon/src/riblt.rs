//! Rateless IBLT: the coded cells of a set, kept incrementally, and the decoder of a difference.

use crate::hash::{Instance, Key, Mapping};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Symbols are keyed SipHash outputs: uniform and beyond an originator's choice without the key,
/// so they index a table as they are (no second hash).
#[derive(Debug, Default, Clone, Copy)]
pub struct SymbolHasher(u64);

impl Hasher for SymbolHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type SymbolMap<V> = HashMap<u64, V, BuildHasherDefault<SymbolHasher>>;

/// One coded cell: the XOR of the symbols mapped to it, the XOR of their checksums, and how many
/// there are (modulo 2^32 on the wire; a difference of two cells is read as a signed 32-bit
/// number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    /// XOR of the symbols.
    pub sum: u64,
    /// XOR of their checksums.
    pub checksum: u64,
    /// Number of symbols, wrapping.
    pub count: u32,
}

impl Cell {
    fn add(&mut self, symbol: u64, checksum: u64, dir: i32) {
        self.sum ^= symbol;
        self.checksum ^= checksum;
        self.count = self.count.wrapping_add_signed(dir);
    }

    /// `self - other`: the cell of the difference of two sets.
    pub fn minus(&self, other: &Cell) -> Cell {
        Cell {
            sum: self.sum ^ other.sum,
            checksum: self.checksum ^ other.checksum,
            count: self.count.wrapping_sub(other.count),
        }
    }

    /// Whether nothing is left in it.
    pub fn is_empty(&self) -> bool {
        self.sum == 0 && self.checksum == 0 && self.count == 0
    }
}

/// The first `len` coded cells of a set under one key, kept up to date as instances are added
/// and removed (about 2 ln(len/2) + 1 cells touched per change: 21 for 32,768 cells), with the
/// symbols of the set indexed to the caller's handle, so that a decoded symbol of ours is found
/// without a pass over the cache. Starting a reconciliation copies the cells (O(len), not O(N)).
#[derive(Debug, Clone)]
pub struct Prefix<H> {
    key: Key,
    cells: Vec<Cell>,
    handles: SymbolMap<H>,
    // Symbols added (1) or removed (-1) whose cells are not updated yet ([`Prefix::flush`]).
    pending: Vec<(u64, i32)>,
}

/// Symbols whose mappings are advanced side by side in [`Prefix::flush`]: each index of a
/// mapping depends on the one before through a chain of floating-point operations, so one
/// symbol at a time leaves the processor waiting on that chain; several interleave.
const LANES: usize = 8;

/// Lazy changes kept at most before they are applied (the buffer stays small and warm).
const PENDING_MAX: usize = 4096;

/// What [`Prefix::insert`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// Another instance of the set has the same symbol (probability about N^2 / 2^65, or an
    /// instance inserted twice); the set stays as it was and reconciliation must not be used
    /// until it is removed (the caller falls back to RFC 2334 Cache Alignment).
    #[error("symbol {0:#018x} already in the set")]
    Duplicate(u64),
    /// Removing an instance that is not in the set.
    #[error("symbol {0:#018x} not in the set")]
    Missing(u64),
}

impl<H: Copy> Prefix<H> {
    /// An empty set's cells: `len` of them under `key`.
    pub fn new(key: Key, len: usize) -> Self {
        Prefix {
            key,
            cells: vec![Cell::default(); len],
            handles: SymbolMap::default(),
            pending: Vec::new(),
        }
    }

    /// The key.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The cells (after [`Prefix::flush`] if the lazy methods were used).
    pub fn cells(&self) -> &[Cell] {
        debug_assert!(self.pending.is_empty(), "cells read before flush");
        &self.cells
    }

    /// How many instances the set holds.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Room for `additional` more instances without growing the index of symbols (a caller
    /// about to insert a whole cache).
    pub fn reserve(&mut self, additional: usize) {
        self.handles.reserve(additional);
    }

    /// The handle of an instance of ours by its symbol.
    pub fn handle(&self, symbol: u64) -> Option<H> {
        self.handles.get(&symbol).copied()
    }

    fn apply(&mut self, symbol: u64, dir: i32) {
        let checksum = self.key.checksum(symbol);
        let len = self.cells.len() as u64;
        let mut m = Mapping::new(checksum);
        let mut i = m.index();
        while i < len {
            self.cells[i as usize].add(symbol, checksum, dir);
            i = m.advance();
        }
    }

    /// As [`Prefix::insert_symbol`], the cells updated only at the next [`Prefix::flush`].
    pub fn insert_symbol_lazy(&mut self, symbol: u64, handle: H) -> Result<u64, PrefixError> {
        if self.handles.contains_key(&symbol) {
            return Err(PrefixError::Duplicate(symbol));
        }
        self.handles.insert(symbol, handle);
        self.defer(symbol, 1);
        Ok(symbol)
    }

    /// As [`Prefix::remove_symbol`], the cells updated only at the next [`Prefix::flush`].
    pub fn remove_symbol_lazy(&mut self, symbol: u64) -> Result<(), PrefixError> {
        if self.handles.remove(&symbol).is_none() {
            return Err(PrefixError::Missing(symbol));
        }
        self.defer(symbol, -1);
        Ok(())
    }

    fn defer(&mut self, symbol: u64, dir: i32) {
        self.pending.push((symbol, dir));
        if self.pending.len() >= PENDING_MAX {
            self.flush();
        }
    }

    /// The cells brought up to date with every lazy insertion and removal, [`LANES`] symbols'
    /// mappings at a time (the same cells as one by one: each is a XOR and a count).
    pub fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let len = self.cells.len() as u64;
        for chunk in pending.chunks(LANES) {
            let mut lane = [(0u64, 0u64, 0i32, Mapping::new(0), u64::MAX); LANES];
            for (l, &(symbol, dir)) in lane.iter_mut().zip(chunk) {
                let checksum = self.key.checksum(symbol);
                let m = Mapping::new(checksum);
                *l = (symbol, checksum, dir, m, m.index());
            }
            loop {
                let mut live = false;
                for (symbol, checksum, dir, m, i) in &mut lane {
                    if *i < len {
                        self.cells[*i as usize].add(*symbol, *checksum, *dir);
                        *i = m.advance();
                        live = true;
                    }
                }
                if !live {
                    break;
                }
            }
        }
        self.pending = pending;
        self.pending.clear();
    }

    /// Adds an instance; returns its symbol.
    pub fn insert(&mut self, instance: &Instance<'_>, handle: H) -> Result<u64, PrefixError> {
        let symbol = self.key.symbol(instance);
        if self.handles.contains_key(&symbol) {
            return Err(PrefixError::Duplicate(symbol));
        }
        self.handles.insert(symbol, handle);
        self.apply(symbol, 1);
        Ok(symbol)
    }

    /// Adds a symbol computed by the caller (e.g. one made to differ from its instance's, so
    /// that the instance shows as a difference); returns it.
    pub fn insert_symbol(&mut self, symbol: u64, handle: H) -> Result<u64, PrefixError> {
        if self.handles.contains_key(&symbol) {
            return Err(PrefixError::Duplicate(symbol));
        }
        self.handles.insert(symbol, handle);
        self.apply(symbol, 1);
        Ok(symbol)
    }

    /// Removes an instance (when it is replaced by a newer one, or expires).
    pub fn remove(&mut self, instance: &Instance<'_>) -> Result<u64, PrefixError> {
        let symbol = self.key.symbol(instance);
        if self.handles.remove(&symbol).is_none() {
            return Err(PrefixError::Missing(symbol));
        }
        self.apply(symbol, -1);
        Ok(symbol)
    }

    /// Removes an instance by its symbol (a caller that kept the symbol, not the instance).
    pub fn remove_symbol(&mut self, symbol: u64) -> Result<(), PrefixError> {
        if self.handles.remove(&symbol).is_none() {
            return Err(PrefixError::Missing(symbol));
        }
        self.apply(symbol, -1);
        Ok(())
    }

    /// Moves an instance's handle (the caller moved its record).
    pub fn rehandle(&mut self, symbol: u64, handle: H) -> bool {
        match self.handles.get_mut(&symbol) {
            Some(h) => {
                *h = handle;
                true
            }
            None => false,
        }
    }
}

/// A symbol found in the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Held by the side that streamed the cells only.
    Remote,
    /// Held by the decoding side only.
    Local,
}

/// Why decoding stopped without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeFailure {
    /// The budget of cells was used up before the difference decoded.
    #[error("not decoded within {0} cells")]
    Budget(u32),
    /// Cell 0 already shows more differences (a lower bound: the difference of the two sets'
    /// sizes) than the budget can decode (about 1.35 cells per difference at best).
    #[error("at least {0} differences, more than the budget decodes")]
    TooMany(u32),
    /// A decoded symbol that cannot be right (ours but not in our set, or found twice).
    #[error("inconsistent symbol {0:#018x}")]
    Inconsistent(u64),
}

/// The progress of a decoder after some cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More cells are needed.
    More,
    /// The difference decoded; [`Decoder::difference`] has it.
    Done,
}

struct Peeled {
    symbol: u64,
    checksum: u64,
    dir: i32,
    mapping: Mapping,
}

/// Decodes the difference between the streamed cells of a remote set and the local set's cells
/// (a snapshot taken at the start), within a budget of cells. Sans-IO: cells in, a result out.
pub struct Decoder {
    key: Key,
    local: Vec<Cell>,
    budget: u32,
    cells: Vec<Cell>,
    peeled: Vec<Peeled>,
    // (next index, peeled position) of every peeled symbol, for the cells still to come.
    pending: BinaryHeap<Reverse<(u64, u32)>>,
    found: SymbolMap<Side>,
    done: bool,
    failed: Option<DecodeFailure>,
    // Cell 0's count difference (remote minus local), once it arrived.
    first_count: Option<i32>,
}

/// At best about 1.35 cells per difference (Yang et al.); below that the budget cannot suffice.
const BEST_RATIO_NUM: u64 = 27;
const BEST_RATIO_DEN: u64 = 20;

impl Decoder {
    /// A decoder against `local` (the local set's cells under the same key, copied at the start;
    /// their number bounds the budget), giving up after `budget` cells.
    pub fn new<H: Copy>(local: &Prefix<H>, budget: u32) -> Self {
        let budget = budget.min(local.cells().len() as u32);
        Decoder {
            key: local.key(),
            local: local.cells()[..budget as usize].to_vec(),
            budget,
            cells: Vec::new(),
            peeled: Vec::new(),
            pending: BinaryHeap::new(),
            found: SymbolMap::default(),
            done: false,
            failed: None,
            first_count: None,
        }
    }

    /// The remote set's size minus the local set's (cell 0's count difference), once cell 0
    /// arrived: positive when the remote side holds more instances.
    pub fn size_difference(&self) -> Option<i32> {
        self.first_count
    }

    /// Cells received so far (the index of the next one expected).
    pub fn received(&self) -> u32 {
        self.cells.len() as u32
    }

    /// The budget in cells.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// The difference found, once [`Progress::Done`]: every symbol with the side that holds it.
    pub fn difference(&self) -> impl Iterator<Item = (u64, Side)> + '_ {
        self.peeled
            .iter()
            .map(|p| (p.symbol, if p.dir > 0 { Side::Remote } else { Side::Local }))
    }

    /// Number of symbols found so far.
    pub fn found(&self) -> usize {
        self.peeled.len()
    }

    /// Takes remote cells `start..start + cells.len()`.
    pub fn receive(&mut self, start: u32, cells: &[Cell]) -> Result<Progress, DecodeFailure> {
        if let Some(f) = self.failed {
            return Err(f);
        }
        if self.done {
            return Ok(Progress::Done);
        }
        if start != self.received() {
            // Cells already taken (a duplicate), or after a gap (an earlier packet was lost: the
            // slave asks again from the gap when its timer expires): dropped.
            return Ok(Progress::More);
        }
        for remote in cells {
            if self.received() >= self.budget {
                return Err(self.fail(DecodeFailure::Budget(self.budget)));
            }
            let i = self.cells.len();
            let mut c = remote.minus(&self.local[i]);
            // Take out what was already peeled and maps here.
            while let Some(Reverse((next, p))) = self.pending.peek().copied() {
                if next != i as u64 {
                    break;
                }
                self.pending.pop();
                let peeled = &mut self.peeled[p as usize];
                c.add(peeled.symbol, peeled.checksum, -peeled.dir);
                let n = peeled.mapping.advance();
                self.pending.push(Reverse((n, p)));
            }
            self.cells.push(c);
            if i == 0 {
                self.first_count = Some(c.count as i32);
                let lower = (c.count as i32).unsigned_abs();
                if lower as u64 * BEST_RATIO_NUM / BEST_RATIO_DEN > self.budget as u64 {
                    return Err(self.fail(DecodeFailure::TooMany(lower)));
                }
            }
            self.peel_from(i)?;
            if self.cells[0].is_empty() {
                self.done = true;
                return Ok(Progress::Done);
            }
        }
        Ok(Progress::More)
    }

    fn fail(&mut self, f: DecodeFailure) -> DecodeFailure {
        self.failed = Some(f);
        f
    }

    fn pure(&self, i: usize) -> Option<(u64, u64, i32)> {
        let c = self.cells[i];
        let dir = c.count as i32;
        if (dir == 1 || dir == -1) && self.key.checksum(c.sum) == c.checksum {
            Some((c.sum, c.checksum, dir))
        } else {
            None
        }
    }

    fn peel_from(&mut self, first: usize) -> Result<(), DecodeFailure> {
        let mut queue = vec![first];
        while let Some(i) = queue.pop() {
            let Some((symbol, checksum, dir)) = self.pure(i) else {
                continue;
            };
            // No more symbols than cells: bounds the decoder's memory whatever the cells are.
            if self.peeled.len() >= self.budget as usize {
                return Err(self.fail(DecodeFailure::Inconsistent(symbol)));
            }
            let side = if dir > 0 { Side::Remote } else { Side::Local };
            if self.found.insert(symbol, side).is_some() {
                return Err(self.fail(DecodeFailure::Inconsistent(symbol)));
            }
            let received = self.cells.len() as u64;
            let mut m = Mapping::new(checksum);
            let mut j = m.index();
            while j < received {
                let cell = &mut self.cells[j as usize];
                cell.add(symbol, checksum, -dir);
                let d = cell.count as i32;
                if d == 1 || d == -1 {
                    queue.push(j as usize);
                }
                j = m.advance();
            }
            let p = self.peeled.len() as u32;
            self.peeled.push(Peeled {
                symbol,
                checksum,
                dir,
                mapping: m,
            });
            self.pending.push(Reverse((j, p)));
        }
        Ok(())
    }
}

/// Streams the cells of a snapshot of a set (the side whose key is used).
pub struct Encoder {
    cells: Vec<Cell>,
}

impl Encoder {
    /// A snapshot of the set's cells (O(len) copy: no pass over the set).
    pub fn new<H: Copy>(prefix: &Prefix<H>) -> Self {
        Encoder {
            cells: prefix.cells().to_vec(),
        }
    }

    /// Cells `start..start + n`, as many as there are.
    pub fn cells(&self, start: u32, n: u32) -> &[Cell] {
        let s = (start as usize).min(self.cells.len());
        let e = (start as usize)
            .saturating_add(n as usize)
            .min(self.cells.len());
        &self.cells[s..e]
    }

    /// How many cells it can stream.
    pub fn len(&self) -> u32 {
        self.cells.len() as u32
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}
