//! The links between servers.

use std::collections::BTreeSet;

use rand::RngExt;

use crate::config::Topology;

/// The undirected links of `topology` over `n` servers, each as `(a, b)` with `a < b`, sorted.
/// Only [`Topology::Random`] draws from `rng`; the result is always connected.
pub fn edges(topology: Topology, n: usize, rng: &mut impl rand::Rng) -> Vec<(usize, usize)> {
    let mut set = BTreeSet::new();
    let mut add = |a: usize, b: usize| {
        if a != b {
            set.insert((a.min(b), a.max(b)));
        }
    };
    match topology {
        Topology::Line => (1..n).for_each(|i| add(i - 1, i)),
        Topology::Ring => {
            (1..n).for_each(|i| add(i - 1, i));
            if n >= 3 {
                add(n - 1, 0);
            }
        }
        Topology::Star => (1..n).for_each(|i| add(0, i)),
        Topology::Full => {
            for a in 0..n {
                for b in a + 1..n {
                    add(a, b);
                }
            }
        }
        Topology::Random => {
            // A random spanning tree: each server, in a random order, links to one placed before.
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = rng.random_range(0..=i);
                order.swap(i, j);
            }
            for i in 1..n {
                let j = rng.random_range(0..i);
                add(order[i], order[j]);
            }
            // About n/2 extra links, so that there are cycles (several paths between servers).
            if n >= 3 {
                for _ in 0..n / 2 {
                    let a = rng.random_range(0..n);
                    let b = rng.random_range(0..n);
                    add(a, b);
                }
            }
        }
    }
    set.into_iter().collect()
}

/// True when the links connect all `n` servers.
pub fn connected(n: usize, edges: &[(usize, usize)]) -> bool {
    if n == 0 {
        return true;
    }
    let mut seen = vec![false; n];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(x) = stack.pop() {
        for &(a, b) in edges {
            let other = if a == x {
                b
            } else if b == x {
                a
            } else {
                continue;
            };
            if !seen[other] {
                seen[other] = true;
                stack.push(other);
            }
        }
    }
    seen.into_iter().all(|s| s)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    #[test]
    fn every_kind_is_connected() {
        let kinds = [
            Topology::Line,
            Topology::Ring,
            Topology::Star,
            Topology::Full,
            Topology::Random,
        ];
        for kind in kinds {
            for n in 1..12 {
                for seed in 0..20 {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    let e = edges(kind, n, &mut rng);
                    assert!(connected(n, &e), "{kind:?} n={n} seed={seed}: {e:?}");
                    assert!(e.iter().all(|&(a, b)| a < b && b < n));
                }
            }
        }
    }

    #[test]
    fn shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            edges(Topology::Line, 4, &mut rng),
            vec![(0, 1), (1, 2), (2, 3)]
        );
        assert_eq!(
            edges(Topology::Ring, 4, &mut rng),
            vec![(0, 1), (0, 3), (1, 2), (2, 3)]
        );
        assert_eq!(edges(Topology::Ring, 2, &mut rng), vec![(0, 1)]);
        assert_eq!(
            edges(Topology::Star, 4, &mut rng),
            vec![(0, 1), (0, 2), (0, 3)]
        );
        assert_eq!(edges(Topology::Full, 4, &mut rng).len(), 6);
    }
}
