//! Checks of the COPY rows against the statements that load them.

use super::generate::tests::{as_of, directory};
use super::*;

/// The number of columns a `copy table (a, b, …) from stdin` statement names.
fn columns(statement: &str) -> usize {
    let open = statement.find('(').expect("column list");
    let close = statement.find(')').expect("column list");
    statement[open + 1..close].split(',').count()
}

#[test]
fn every_row_has_the_columns_its_copy_statement_names() {
    let mut generator =
        Generator::new(5, default_from(), as_of(), 3000, directory(), Start::default());
    let batch = generator.next_batch(3000).expect("a batch");
    let mut tables: Vec<(String, &copy::CopyBuf)> = COPIES
        .iter()
        .map(|(statement, table)| ((*statement).to_owned(), table(&batch.tables)))
        .collect();
    tables.push((format!("copy cases ({CASE_COLUMNS}) from stdin"), &batch.tables.cases));
    tables
        .push((format!("copy case_persons ({PERSON_COLUMNS}) from stdin"), &batch.tables.persons));
    for (statement, buf) in tables {
        assert!(!buf.is_empty(), "no rows for {statement}");
        let text = std::str::from_utf8(buf.bytes()).expect("utf-8");
        let expected = columns(&statement);
        for (n, line) in text.lines().enumerate() {
            assert_eq!(line.split('\t').count(), expected, "{statement}, row {n}: {line}");
        }
        assert_eq!(text.lines().count() as u64, buf.rows(), "{statement}");
    }
}
