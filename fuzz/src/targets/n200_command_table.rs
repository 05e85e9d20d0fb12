//! The N200 command-name overrides (hsm-n200 `CommandTable::apply_json`), the JSON a user gives
//! when a device spells a command or field differently.

use hsm_n200::protocol::commands::{Command, CommandTable};

/// The input is the overrides file.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut table = CommandTable::default();
    if table.apply_json(text).is_ok() {
        for command in Command::ALL {
            let name = table.name(command);
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic()),
                "{command}: {name:?}"
            );
        }
        // Applying the same overrides twice changes nothing.
        let mut twice = table.clone();
        twice
            .apply_json(text)
            .expect("the same overrides apply again");
        for command in Command::ALL {
            assert_eq!(twice.spec(command), table.spec(command));
        }
    }
}
