//! Comma-separated column lists on the command line.

use anyhow::{Result, bail};

/// Splits `NAME,NAME,...` into names, refusing empty names.
pub fn parse_list(flag: &str, value: &str) -> Result<Vec<String>> {
    let names: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        bail!("{flag} '{value}' has an empty column name; expected NAME,NAME,...");
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            bail!("{flag} names column '{name}' twice");
        }
    }
    Ok(names)
}

/// Input and target column lists, which must not share a column.
pub fn inputs_and_targets(inputs: &str, targets: &str) -> Result<(Vec<String>, Vec<String>)> {
    let inputs = parse_list("--inputs", inputs)?;
    let targets = parse_list("--targets", targets)?;
    if let Some(both) = inputs.iter().find(|n| targets.contains(n)) {
        bail!("column '{both}' is both an input and a target; a column can only be one of them");
    }
    Ok((inputs, targets))
}

/// Parses a comma-separated list of numbers for `flag`.
pub fn parse_numbers<T: std::str::FromStr>(flag: &str, value: &str) -> Result<Vec<T>> {
    value
        .split(',')
        .map(|s| {
            s.trim().parse::<T>().map_err(|_| {
                anyhow::anyhow!("{flag} '{value}': '{}' is not a valid number", s.trim())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(parse_list("--inputs", "x1, x2").unwrap(), ["x1", "x2"]);
        assert!(parse_list("--inputs", "x1,,x2").is_err());
        assert!(parse_list("--inputs", "x,x").is_err());
        assert!(inputs_and_targets("x,t", "t").is_err());
        assert_eq!(
            parse_numbers::<usize>("--hidden", "32,16").unwrap(),
            [32, 16]
        );
        assert!(parse_numbers::<usize>("--hidden", "32,a").is_err());
    }
}
