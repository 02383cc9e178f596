//! String enums of the wire: one macro gives each its text form, its parser
//! and a `Deserialize` whose error says what is accepted, so a request field of
//! such a type is typed and still refused with a sentence naming the choices.
//!
//! The error of a typed field reads `must be … (got …)`; the broker's body and
//! query extractors put the field's name in front of it (see [`field_error`]).

/// What every string enum of the wire offers (so that code generic over a
/// record type can show its status).
pub trait StringEnum: Copy + 'static {
    fn as_str(self) -> &'static str;
}

/// The message for a request field that failed to deserialize: our own typed
/// fields say `must …`, which reads after the field's name; serde's own
/// messages (wrong type, unknown field) are quoted after it.
pub fn field_error(field: &str, message: &str) -> String {
    if message.starts_with("must ") {
        format!("'{field}' {message}")
    } else {
        format!("invalid field '{field}': {message}")
    }
}

/// Declares a string enum: `name { Variant = "text", … }`, optionally with
/// `expect "…"` (how the choices read in an error; default `one of a, b, c`).
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident $(expect $expect:literal)? { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($s => Some($name::$v),)+ _ => None }
            }

            /// The accepted values, for error messages.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }

            /// What a value must be, as an error says it.
            pub fn expected() -> String {
                #[allow(unused_mut, unused_assignments)]
                let mut e = format!("one of {}", Self::choices());
                $(e = $expect.to_string();)?
                e
            }

            /// Parse a request field, with an error naming it.
            pub fn field(field: &str, s: &str) -> Result<Self, crate::ApiError> {
                Self::parse(s).ok_or_else(|| crate::ApiError::invalid(
                    field,
                    format!("'{field}' must be {} (got {s:?})", Self::expected()),
                ))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl crate::enums::StringEnum for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "{}", $name::expected())
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        $name::parse(s).ok_or_else(|| {
                            E::custom(format!("must be {} (got {s:?})", $name::expected()))
                        })
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use string_enum;

#[cfg(test)]
mod tests {
    use crate::coord::{Verdict, Vote};

    #[test]
    fn a_wrong_value_says_what_is_accepted() {
        let e = serde_json::from_str::<Vote>("\"maybe\"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("must be one of approve, reject (got \"maybe\")"),
            "{e}"
        );
        let e = serde_json::from_str::<Verdict>("\"maybe\"").unwrap_err();
        assert!(
            e.to_string().starts_with("must be verified or failed"),
            "{e}"
        );
        assert_eq!(
            serde_json::from_str::<Vote>("\" approve \"").unwrap(),
            Vote::Approve
        );
        assert!(serde_json::from_str::<Vote>("7").is_err());
    }
}
