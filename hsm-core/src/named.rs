//! `Display` and `FromStr` for the enums that have a `name()` and an `ALL` table
//! ([`SignAlgorithm`](crate::SignAlgorithm), [`KeySpec`](crate::KeySpec)).

/// `Display` writes the value's `name()`; `FromStr` takes back any case of a name in `ALL`, and
/// for anything else is an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error of
/// `operation` that lists the names.
macro_rules! display_and_parse_by_name {
    ($type:ty, $operation:literal, $what:literal) => {
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $type {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.name().eq_ignore_ascii_case(s))
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
                        $crate::Error::invalid_input(
                            $operation,
                            format!(
                                concat!("unknown ", $what, " {:?}; expected one of {}"),
                                s,
                                names.join(", ")
                            ),
                        )
                    })
            }
        }
    };
}
pub(crate) use display_and_parse_by_name;

#[cfg(test)]
mod tests {
    use std::fmt::{Debug, Display};
    use std::str::FromStr;

    use crate::{KeySpec, SignAlgorithm};

    /// Every value's name parses back to it, in any case; `unknown` is refused.
    fn names_round_trip<T>(all: &[T], unknown: &str)
    where
        T: Display + FromStr + PartialEq + Debug,
    {
        for value in all {
            let name = value.to_string();
            assert_eq!(name.parse::<T>().ok().as_ref(), Some(value));
            assert_eq!(name.to_uppercase().parse::<T>().ok().as_ref(), Some(value));
        }
        assert!(unknown.parse::<T>().is_err());
    }

    #[test]
    fn algorithm_and_key_spec_names_round_trip() {
        names_round_trip(&SignAlgorithm::ALL, "ecdsa-md5");
        names_round_trip(&KeySpec::ALL, "rsa1024");
    }
}
