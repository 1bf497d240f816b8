use super::*;

#[test]
fn search_patterns_escape_wildcards_and_compact_n_numbers() {
    assert_eq!(search_patterns("Müller  Karim"), ["%Müller%", "%Karim%"]);
    assert_eq!(search_patterns("N 123 456"), ["%n123456%"]);
    assert_eq!(search_patterns("50%_a\\"), ["%50\\%\\_a\\\\%"]);
    assert!(search_patterns("   ").is_empty());
}

#[test]
fn only_words_of_digits_and_n_can_match_identity_numbers() {
    for pattern in search_patterns("12345678 n123456 N12 n 4.5") {
        assert!(may_match_ids(&pattern), "{pattern}");
    }
    for pattern in search_patterns("hassan Müller x1 BE-2026") {
        assert!(!may_match_ids(&pattern), "{pattern}");
    }
}
