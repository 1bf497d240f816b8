//! Query strings every route refuses: a NUL character (`%00`) in a parameter's name or value,
//! which PostgreSQL cannot compare with text (see `layers::refuse_nul_in_query`).

use axum::extract::Query as AxumQuery;
use axum::http::Uri;
use retour_domain::FieldError;

/// Every parameter whose name or value holds a NUL character.
pub(crate) fn nul_errors(uri: &Uri) -> Vec<FieldError> {
    if !uri.query().is_some_and(|q| q.contains("%00")) {
        return Vec::new();
    }
    let Ok(AxumQuery(pairs)) = AxumQuery::<Vec<(String, String)>>::try_from_uri(uri) else {
        return Vec::new();
    };
    pairs
        .iter()
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| {
            let name = name.replace('\0', "%00");
            let message = format!("{name} must not contain NUL characters");
            FieldError::new(name, "invalid_characters", message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::Uri;

    use super::nul_errors;

    #[test]
    fn a_nul_character_in_a_name_or_value_is_named() {
        let uri: Uri = "/v1/cases?status=op%00en&q=x&na%00me=1".parse().expect("uri");
        let errors = nul_errors(&uri);
        let named: Vec<(&str, &str)> =
            errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(named, [("status", "invalid_characters"), ("na%00me", "invalid_characters")]);
        assert!(nul_errors(&"/v1/cases?q=a%2500b".parse().expect("uri")).is_empty());
        assert!(nul_errors(&"/v1/cases".parse().expect("uri")).is_empty());
    }
}
