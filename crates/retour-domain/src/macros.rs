//! A closed set of values written as fixed strings in JSON and in the database.

/// An enum declared with [`string_enum!`], registered when the program is linked, so that a
/// test can hold every one of them against the OpenAPI document without a list to maintain.
#[derive(Debug)]
pub struct WireEnum {
    /// The type's name, which is also its schema's name in the OpenAPI document.
    pub name: &'static str,
    /// `as_str` of every variant, in declaration order.
    pub names: fn() -> Vec<&'static str>,
    /// Every variant as serde writes it.
    pub serialised: fn() -> Vec<serde_json::Value>,
}

inventory::collect!(WireEnum);

/// Every enum declared with [`string_enum!`] in the program.
pub fn wire_enums() -> impl Iterator<Item = &'static WireEnum> {
    inventory::iter::<WireEnum>.into_iter()
}

/// Declares an enum whose variants serialise as the given strings, with `ALL`, `as_str`,
/// `parse` and `Display`, so the names live in one place for serde, OpenAPI and SQL. The one
/// way this project declares such an enum: every one is registered as a [`WireEnum`].
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; <[&str]>::len(&[$(stringify!($variant)),+])] =
                [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }

            /// The accepted values, for error messages: `a, b, c`.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::macros::inventory::submit! {
            $crate::macros::WireEnum {
                name: stringify!($name),
                names: || $name::ALL.iter().map(|v| v.as_str()).collect(),
                serialised: || {
                    $name::ALL
                        .iter()
                        .map(|v| $crate::macros::serde_json::to_value(v).unwrap_or_default())
                        .collect()
                },
            }
        }
    };
}

#[doc(hidden)]
pub use {inventory, serde_json};
