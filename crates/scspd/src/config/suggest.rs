//! "Did you mean" for an unknown statement: the keyword of the block closest in spelling.

/// The keyword of `table` most like `word` (ignoring case), if one is close enough to be a
/// likely slip: Jaro-Winkler similarity of at least 0.8, which favours a shared beginning
/// (`HelloInterval` -> `HelloInt`, `serveur` -> `Server`).
pub(super) fn closest(word: &str, table: &[&'static str]) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    table
        .iter()
        .map(|k| (strsim::jaro_winkler(&word, &k.to_ascii_lowercase()), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::closest;

    const DCS: &[&str] = &["ID", "Address", "HelloDead", "HelloInt", "Hops", "Auth"];

    #[test]
    fn a_longer_spelling_finds_the_keyword() {
        assert_eq!(closest("HelloInterval", DCS), Some("HelloInt"));
        assert_eq!(closest("serveur", &["Server", "Log"]), Some("Server"));
        assert_eq!(closest("adress", DCS), Some("Address"));
    }

    #[test]
    fn an_unrelated_word_gets_no_suggestion() {
        assert_eq!(closest("x", &["File", "Syslog"]), None);
        assert_eq!(
            closest("Lifetime", &["SPI", "Algorithm", "Key", "KeyFile"]),
            None
        );
    }
}
