//! Echoing what a caller sent in a refusal, briefly: a value is quoted and cut to its first
//! characters, so that a refusal stays small enough for every client's metadata limits whatever
//! the caller sent (a 4,000-character id must not turn INVALID_ARGUMENT into a transport error).

/// Characters of a value echoed in a message, at most.
const SHOWN: usize = 48;

/// `value` quoted for a message, cut to its first characters.
pub fn shown(value: &str) -> String {
    let n = value.chars().count();
    if n <= SHOWN {
        format!("{value:?}")
    } else {
        let start: String = value.chars().take(SHOWN).collect();
        format!("{start:?}… ({n} characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut() {
        assert_eq!(shown("cat-lai"), "\"cat-lai\"");
        let long = "x".repeat(4000);
        let s = shown(&long);
        assert!(s.len() < 80, "{s}");
        assert!(s.ends_with("(4000 characters)"));
    }
}
