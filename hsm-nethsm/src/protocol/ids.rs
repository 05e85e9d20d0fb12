//! The spec's rules for the ids in request paths and bodies, checked before anything is sent:
//! `ID` (keys, namespaces, tags, cluster members) is `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, 1 to 128
//! characters; `UserID` is an `ID`, optionally after a namespace and `~` (`ns~user`).

use hsm_core::{Error, Result};

/// The `ID` rule.
pub(crate) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The `UserID` rule.
pub(crate) fn valid_user_id(id: &str) -> bool {
    id.len() <= 128
        && match id.split_once('~') {
            Some((namespace, name)) => valid_id(namespace) && valid_id(name),
            None => valid_id(id),
        }
}

/// `InvalidInput` unless `value` (a `what`: key id, tag, ...) follows the `ID` rule.
pub(crate) fn check(operation: &'static str, what: &str, value: &str) -> Result<()> {
    if valid_id(value) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            operation,
            format!(
                "{what} {value:?} is not a NetHSM ID: 1 to 128 characters of [a-zA-Z0-9_.-], \
                 starting with a letter or digit"
            ),
        ))
    }
}

/// `InvalidInput` unless `value` follows the `UserID` rule.
pub(crate) fn check_user(operation: &'static str, value: &str) -> Result<()> {
    if valid_user_id(value) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            operation,
            format!("user id {value:?} is not a NetHSM UserID ([namespace~]ID)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_user_ids_follow_the_spec_patterns() {
        assert!(valid_id("a.b_c-d"));
        assert!(valid_id(&"x".repeat(128)));
        for bad in ["", "-a", "a b", "a/b", "a~b", "ä", &"x".repeat(129)] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert!(valid_user_id("operator"));
        assert!(valid_user_id("ns1~op.1"));
        for bad in ["ns~", "~op", "a~b~c", "ns 1~op", ""] {
            assert!(!valid_user_id(bad), "{bad}");
        }
        assert!(check("x", "key id", "../admin").is_err());
        assert!(check_user("x", "ns~u").is_ok());
    }
}
