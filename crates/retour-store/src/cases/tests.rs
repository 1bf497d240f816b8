use super::search::{driving_word, search_words};

#[test]
fn search_words_split_as_the_stored_words_and_compact_n_numbers() {
    assert_eq!(search_words("Müller  Karim"), ["Müller", "Karim"]);
    assert_eq!(search_words("N 123 456"), ["n123456"]);
    assert_eq!(search_words("BE-2026-00042"), ["BE", "2026", "00042"]);
    assert_eq!(search_words("50%_a\\"), ["50", "a"]);
    assert!(search_words("   ").is_empty());
    assert!(search_words("%").is_empty());
}

#[test]
fn the_longest_word_drives_the_search() {
    let words = search_words("al Hassan Karim");
    assert_eq!(driving_word(&words), Some(1), "the first of the longest");
    assert_eq!(driving_word(&[]), None);
}
