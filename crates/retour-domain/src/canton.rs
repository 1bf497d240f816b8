//! The 26 Swiss cantons by their official two-letter codes.

use crate::string_enum;

string_enum! {
    /// A Swiss canton, written as its two-letter code (`BE`, `ZH`, …).
    pub enum Canton {
        Ag = "AG",
        Ai = "AI",
        Ar = "AR",
        Be = "BE",
        Bl = "BL",
        Bs = "BS",
        Fr = "FR",
        Ge = "GE",
        Gl = "GL",
        Gr = "GR",
        Ju = "JU",
        Lu = "LU",
        Ne = "NE",
        Nw = "NW",
        Ow = "OW",
        Sg = "SG",
        Sh = "SH",
        So = "SO",
        Sz = "SZ",
        Tg = "TG",
        Ti = "TI",
        Ur = "UR",
        Vd = "VD",
        Vs = "VS",
        Zg = "ZG",
        Zh = "ZH",
    }
}

impl Canton {
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
