//! Country information requests (programme RIF): while a case is in counselling, the
//! counsellor asks IOM Bern about the destination (cost of rent, a medicine's availability);
//! IOM answers, seeing the question and the country, never the case file.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::person::required;
use crate::string_enum;
use crate::validation::{FieldError, Validation, text};

/// The longest question or answer.
pub const TEXT_MAX: usize = 10_000;

string_enum! {
    /// Whether IOM answered.
    pub enum InformationRequestStatus {
        Open = "open",
        Answered = "answered",
    }
}

/// A question as the counsellor sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    /// About the destination, not the person: 1 to 10,000 characters.
    #[schema(value_type = String, required = true, max_length = 10000)]
    pub question: Option<String>,
}

/// An answer as IOM Bern sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// 1 to 10,000 characters.
    #[schema(value_type = String, required = true, max_length = 10000)]
    pub answer: Option<String>,
}

/// The trimmed question.
pub fn parse_question(input: &QuestionInput) -> Result<String, Vec<FieldError>> {
    required_text("question", &input.question)
}

/// The trimmed answer.
pub fn parse_answer(input: &AnswerInput) -> Result<String, Vec<FieldError>> {
    required_text("answer", &input.answer)
}

fn required_text(field: &str, value: &Option<String>) -> Result<String, Vec<FieldError>> {
    let mut v = Validation::new();
    let parsed = required(&mut v, field, value).and_then(|s| v.check(text(field, s, TEXT_MAX)));
    match parsed {
        Some(text) => v.finish(text),
        None => Err(v.into_errors()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_and_answers_are_trimmed_non_empty_texts() {
        assert_eq!(
            parse_question(&QuestionInput { question: Some(" Rent in Erbil? ".into()) }),
            Ok("Rent in Erbil?".to_owned())
        );
        let missing = parse_question(&QuestionInput::default()).expect_err("missing");
        assert_eq!((missing[0].field.as_str(), missing[0].code.as_str()), ("question", "required"));
        let long = parse_answer(&AnswerInput { answer: Some("x".repeat(TEXT_MAX + 1)) })
            .expect_err("too long");
        assert_eq!(long[0].code, "too_long");
        for status in InformationRequestStatus::ALL {
            assert_eq!(InformationRequestStatus::parse(status.as_str()), Some(status));
        }
    }
}
