//! The 26 Swiss cantons by their official two-letter codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A Swiss canton, written as its two-letter code (`BE`, `ZH`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Canton {
    Ag,
    Ai,
    Ar,
    Be,
    Bl,
    Bs,
    Fr,
    Ge,
    Gl,
    Gr,
    Ju,
    Lu,
    Ne,
    Nw,
    Ow,
    Sg,
    Sh,
    So,
    Sz,
    Tg,
    Ti,
    Ur,
    Vd,
    Vs,
    Zg,
    Zh,
}

impl Canton {
    pub const ALL: [Canton; 26] = [
        Canton::Ag,
        Canton::Ai,
        Canton::Ar,
        Canton::Be,
        Canton::Bl,
        Canton::Bs,
        Canton::Fr,
        Canton::Ge,
        Canton::Gl,
        Canton::Gr,
        Canton::Ju,
        Canton::Lu,
        Canton::Ne,
        Canton::Nw,
        Canton::Ow,
        Canton::Sg,
        Canton::Sh,
        Canton::So,
        Canton::Sz,
        Canton::Tg,
        Canton::Ti,
        Canton::Ur,
        Canton::Vd,
        Canton::Vs,
        Canton::Zg,
        Canton::Zh,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Canton::Ag => "AG",
            Canton::Ai => "AI",
            Canton::Ar => "AR",
            Canton::Be => "BE",
            Canton::Bl => "BL",
            Canton::Bs => "BS",
            Canton::Fr => "FR",
            Canton::Ge => "GE",
            Canton::Gl => "GL",
            Canton::Gr => "GR",
            Canton::Ju => "JU",
            Canton::Lu => "LU",
            Canton::Ne => "NE",
            Canton::Nw => "NW",
            Canton::Ow => "OW",
            Canton::Sg => "SG",
            Canton::Sh => "SH",
            Canton::So => "SO",
            Canton::Sz => "SZ",
            Canton::Tg => "TG",
            Canton::Ti => "TI",
            Canton::Ur => "UR",
            Canton::Vd => "VD",
            Canton::Vs => "VS",
            Canton::Zg => "ZG",
            Canton::Zh => "ZH",
        }
    }

    pub fn parse(code: &str) -> Option<Canton> {
        Canton::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The canton's name as its counselling service presents itself (German or French).
    pub fn name(self) -> &'static str {
        match self {
            Canton::Ag => "Aargau",
            Canton::Ai => "Appenzell Innerrhoden",
            Canton::Ar => "Appenzell Ausserrhoden",
            Canton::Be => "Bern",
            Canton::Bl => "Basel-Landschaft",
            Canton::Bs => "Basel-Stadt",
            Canton::Fr => "Fribourg",
            Canton::Ge => "Genève",
            Canton::Gl => "Glarus",
            Canton::Gr => "Graubünden",
            Canton::Ju => "Jura",
            Canton::Lu => "Luzern",
            Canton::Ne => "Neuchâtel",
            Canton::Nw => "Nidwalden",
            Canton::Ow => "Obwalden",
            Canton::Sg => "St. Gallen",
            Canton::Sh => "Schaffhausen",
            Canton::So => "Solothurn",
            Canton::Sz => "Schwyz",
            Canton::Tg => "Thurgau",
            Canton::Ti => "Ticino",
            Canton::Ur => "Uri",
            Canton::Vd => "Vaud",
            Canton::Vs => "Valais",
            Canton::Zg => "Zug",
            Canton::Zh => "Zürich",
        }
    }
}

impl std::fmt::Display for Canton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_to_its_canton() {
        for canton in Canton::ALL {
            assert_eq!(Canton::parse(canton.code()), Some(canton));
        }
        assert_eq!(Canton::parse("XX"), None);
        assert_eq!(Canton::parse("be"), None);
    }
}
