//! The SmartCard-HSM's short answers, parsed from bytes (hsm-sc): the FCP of SELECT
//! (`AppletInfo::parse`), the DKEK status (`DkekStatus::from_bytes`), ENUMERATE OBJECTS
//! (`commands::files::parse_file_list`) and whole response APDUs (`Response::from_bytes`).

use hsm_sc::DkekStatus;
use hsm_sc::client::select::AppletInfo;
use hsm_sc::protocol::apdu::Response;
use hsm_sc::protocol::files::parse_file_list;

/// The input is one answer's data (the status word too, for `Response`).
pub fn run(data: &[u8]) {
    if let Ok(info) = AppletInfo::parse(data) {
        let _ = format!("{info:?}");
    }
    match DkekStatus::from_bytes(data) {
        Ok(s) => {
            assert!(data.len() >= 10);
            assert_eq!((s.shares, s.outstanding), (data[0], data[1]));
            assert_eq!(s.kcv, data[2..10]);
            let hex = s.kcv_hex();
            assert!(hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        Err(_) => assert!(data.len() < 10),
    }
    let files = parse_file_list(data);
    let expected: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .filter(|f| *f != 0)
        .collect();
    assert_eq!(files, expected);
    match Response::from_bytes(data) {
        Ok(r) => assert_eq!(r.to_bytes(), data),
        Err(_) => assert!(data.len() < 2),
    }
}
