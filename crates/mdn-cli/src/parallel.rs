//! Streaming work over chunks of a file on all cores, with results kept in file order.

use anyhow::Result;
use rayon::prelude::*;

/// Takes items from `next` until it returns `None`, runs `work` on them on rayon's threads a
/// few at a time (twice as many as there are threads), and hands each result to `consume` in
/// the order the items came. At most that many items and results exist at once, so memory
/// does not grow with the input. The first error, in input order, stops everything.
pub fn in_order<I, R>(
    mut next: impl FnMut() -> Result<Option<I>>,
    work: impl Fn(I) -> Result<R> + Sync,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<()>
where
    I: Send,
    R: Send,
{
    let in_flight = 2 * rayon::current_num_threads();
    loop {
        let mut items = Vec::with_capacity(in_flight);
        while items.len() < in_flight {
            match next()? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        let last = items.len() < in_flight;
        let results: Vec<Result<R>> = items.into_par_iter().map(&work).collect();
        for result in results {
            consume(result?)?;
        }
        if last {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_input_order_and_the_first_error_wins() {
        let mut items = 0..100;
        let mut seen = Vec::new();
        in_order(
            || Ok(items.next()),
            |i| {
                // Later items finish first.
                std::thread::sleep(std::time::Duration::from_micros(100 - i));
                Ok(i * 2)
            },
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..100).map(|i| i * 2).collect::<Vec<_>>());

        let mut items = 0..100u64;
        let error = in_order(
            || Ok(items.next()),
            |i| {
                if i == 37 || i == 80 {
                    anyhow::bail!("item {i}")
                } else {
                    Ok(i)
                }
            },
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "item 37");
    }
}
