//! Countries as ISO 3166-1 alpha-2 codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every officially assigned ISO 3166-1 alpha-2 code, plus `XK` (Kosovo), which SEM and IOM
/// use although ISO has not assigned it. Sorted, for a binary search.
const ASSIGNED: [&str; 250] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// A country, as its ISO 3166-1 alpha-2 code (`IQ`, `CH`, `XK` for Kosovo). Only assigned
/// codes parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

/// In the OpenAPI document, the codes that parse, as an `enum`.
impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An ISO 3166-1 alpha-2 country code (`IQ`, `CH`), or `XK` for Kosovo",
            ))
            .enum_values(Some(ASSIGNED))
            .examples(["IQ"])
            .into()
    }
}

impl ToSchema for CountryCode {}

// The codes are a closed set of wire names like the enums declared with `string_enum!`, and
// are held against the OpenAPI document with them.
inventory::submit! {
    crate::macros::WireEnum {
        name: "CountryCode",
        names: || ASSIGNED.to_vec(),
        serialised: || ASSIGNED.iter().map(|&c| serde_json::Value::from(c)).collect(),
    }
}

impl CountryCode {
    /// Parses a code, ignoring surrounding whitespace and letter case; unassigned codes
    /// (`XX`, `ZZ`) are refused.
    pub fn parse(value: &str) -> Option<Self> {
        let upper = value.trim().to_ascii_uppercase();
        ASSIGNED.binary_search(&upper.as_str()).ok().map(|i| CountryCode(ASSIGNED[i]))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CountryCode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not an ISO 3166-1 alpha-2 country code"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_holds_249_assigned_codes_and_kosovo() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ASSIGNED.len(), 249 + 1);
        assert!(ASSIGNED.iter().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn assigned_codes_parse_and_others_are_refused() {
        for code in ["IQ", "CH", "XK", "AF", "ZW", " ng ", "lk"] {
            let parsed = CountryCode::parse(code).expect(code);
            assert_eq!(parsed.as_str(), code.trim().to_ascii_uppercase());
        }
        for code in ["XX", "ZZ", "UK", "", "I", "IRQ", "1Q", "É"] {
            assert_eq!(CountryCode::parse(code), None, "{code}");
        }
    }
}
