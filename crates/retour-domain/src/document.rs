//! Documents of a case: what kinds there are, which field group of the access policy each
//! belongs to, which file types are taken, and the rules for a deletion's reason and an
//! upload's file name.

use crate::policy::FieldGroup;
use crate::string_enum;
use crate::validation::{FieldError, text};

string_enum! {
    /// What a document is. Each category belongs to a field group of the access policy, and
    /// only those whose view holds the group see the document at all.
    pub enum DocumentCategory {
        /// The signed request for return assistance, with the declaration of voluntariness.
        ReturnRequest = "return_request",
        /// Copies of passports, identity cards and other identity papers.
        IdentityDocument = "identity_document",
        /// Tickets, laissez-passer, travel certificates.
        TravelDocument = "travel_document",
        /// A doctor's certificate: the full medical view only.
        MedicalCertificate = "medical_certificate",
        /// SEM's decision, with its reasons.
        SemDecision = "sem_decision",
        /// Receipts of start-up cash, travel money and other payouts.
        PayoutReceipt = "payout_receipt",
        /// Evidence of the reintegration project (business plan, invoices, photos).
        ReintegrationEvidence = "reintegration_evidence",
        /// A consent form (information sheet) signed by a person: what a consent record
        /// rests on.
        ConsentForm = "consent_form",
        /// Anything else, between the counselling service and SEM.
        Other = "other",
    }
}

impl DocumentCategory {
    /// The field group a document of this category belongs to.
    ///
    /// - the request holds the exclusion-ground answers and the declaration (eligibility);
    /// - identity and travel papers are what a journey is booked with (travel), so the
    ///   partners who book it see them and an IOM mission does not;
    /// - a medical certificate is the diagnosis (the full medical view);
    /// - SEM's decision carries its reasons and legal ground (SEM's review);
    /// - receipts are payouts (assistance);
    /// - reintegration evidence is the reintegration's (the mission's);
    /// - a signed consent form is a consent's (whoever records and relies on consents);
    /// - anything else stays between the counselling service and SEM (the review).
    pub fn field_group(self) -> FieldGroup {
        match self {
            DocumentCategory::ReturnRequest => FieldGroup::Eligibility,
            DocumentCategory::IdentityDocument | DocumentCategory::TravelDocument => {
                FieldGroup::Travel
            }
            DocumentCategory::MedicalCertificate => FieldGroup::MedicalSummary,
            DocumentCategory::SemDecision | DocumentCategory::Other => FieldGroup::Review,
            DocumentCategory::PayoutReceipt => FieldGroup::Assistance,
            DocumentCategory::ReintegrationEvidence => FieldGroup::Reintegration,
            DocumentCategory::ConsentForm => FieldGroup::Consent,
        }
    }
}

/// The media types a document may have, judged from its bytes: PDF, JPEG, PNG, TIFF and HEIC
/// (HEIF). Everything else, whatever its name or the type the client claims, is refused.
pub const ACCEPTED_MEDIA_TYPES: [&str; 6] =
    ["application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic", "image/heif"];

/// Whether a document whose bytes were recognised as `media_type` is accepted.
pub fn accepted_media_type(media_type: &str) -> bool {
    ACCEPTED_MEDIA_TYPES.contains(&media_type)
}

/// The longest description of a document.
pub const MAX_DESCRIPTION: usize = 2000;

/// A description given with an upload; blank is none.
pub fn parse_description(value: &str) -> Result<Option<String>, FieldError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    text("description", value, MAX_DESCRIPTION).map(Some)
}

/// The longest file name kept, in characters.
pub const MAX_FILE_NAME: usize = 150;

/// The file name an upload is kept and offered back under: the last component of what the
/// client sent (no directories), without control characters, quotes or separators that could
/// break a header, shortened to [`MAX_FILE_NAME`] characters keeping the extension; `None`
/// when nothing usable remains.
pub fn clean_file_name(sent: &str) -> Option<String> {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '\u{2028}' | '\u{2029}'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return None;
    }
    if cleaned.chars().count() <= MAX_FILE_NAME {
        return Some(cleaned.to_owned());
    }
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 10 => (stem, ext),
        _ => (cleaned, ""),
    };
    let keep = MAX_FILE_NAME - extension.chars().count() - usize::from(!extension.is_empty());
    let stem: String = stem.chars().take(keep).collect();
    Some(if extension.is_empty() { stem } else { format!("{stem}.{extension}") })
}

/// The usual extension of an accepted media type, for a file name made up when the client
/// sent none.
pub fn extension_of(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/tiff" => "tif",
        "image/heic" | "image/heif" => "heic",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_a_group_and_the_medical_one_is_the_diagnosis() {
        assert_eq!(DocumentCategory::MedicalCertificate.field_group(), FieldGroup::MedicalSummary);
        assert_eq!(
            DocumentCategory::ReintegrationEvidence.field_group(),
            FieldGroup::Reintegration
        );
        assert_eq!(DocumentCategory::parse("sem_decision"), Some(DocumentCategory::SemDecision));
        assert_eq!(DocumentCategory::parse("passport"), None);
    }

    #[test]
    fn only_the_listed_types_are_accepted() {
        assert!(accepted_media_type("application/pdf"));
        assert!(accepted_media_type("image/heif"));
        assert!(!accepted_media_type("application/vnd.microsoft.portable-executable"));
        assert!(!accepted_media_type("text/html"));
        assert!(!accepted_media_type("image/svg+xml"));
    }

    #[test]
    fn file_names_lose_directories_control_characters_and_length() {
        assert_eq!(
            clean_file_name("C:\\Users\\x\\Pass Müller.pdf").as_deref(),
            Some("Pass Müller.pdf")
        );
        assert_eq!(clean_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_file_name("a\r\nb\".pdf").as_deref(), Some("ab.pdf"));
        assert_eq!(clean_file_name(".hidden").as_deref(), Some("hidden"));
        assert_eq!(clean_file_name("///"), None);
        let long = format!("{}.pdf", "x".repeat(400));
        let cleaned = clean_file_name(&long).expect("a name");
        assert_eq!(cleaned.chars().count(), MAX_FILE_NAME);
        assert!(cleaned.ends_with(".pdf"));
    }
}
