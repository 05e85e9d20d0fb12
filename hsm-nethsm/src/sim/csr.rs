//! Real certificate signing requests (`POST /keys/{id}/csr.pem`, `/config/tls/csr.pem`),
//! signed by the key through the x509-cert builder (see [`super::x509`]), for every key type
//! that signs.

use std::str::FromStr as _;

use der::asn1::{Ia5String, OctetString};
use x509_cert::builder::RequestBuilder;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use super::crypto::{SimResult, SimSecret};
use crate::protocol::DistinguishedName;

/// Escapes an RFC 4514 attribute value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i + 1 == value.chars().count() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn subject(dn: &DistinguishedName) -> SimResult<Name> {
    let mut parts = vec![format!("CN={}", escape(&dn.common_name))];
    for (key, value) in [
        ("OU", &dn.organizational_unit_name),
        ("O", &dn.organization_name),
        ("L", &dn.locality_name),
        ("ST", &dn.state_or_province_name),
        ("C", &dn.country_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", escape(v)));
        }
    }
    if let Some(email) = dn.email_address.as_deref().filter(|v| !v.is_empty()) {
        parts.insert(0, format!("emailAddress={}", escape(email)));
    }
    let text = parts.join(",");
    // Not every RFC 4514 parser knows the `emailAddress` name; its OID always works.
    Name::from_str(&text)
        .or_else(|_| Name::from_str(&text.replacen("emailAddress=", "1.2.840.113549.1.9.1=", 1)))
        .map_err(|e| format!("invalid subject: {e}").into())
}

fn alt_names(dn: &DistinguishedName) -> SimResult<Option<SubjectAltName>> {
    let names = match &dn.subject_alt_names {
        Some(list) if list.is_empty() => return Ok(None),
        Some(list) => list.clone(),
        None => vec![dn.common_name.clone()],
    };
    let mut general = Vec::new();
    for name in names {
        if let Some(ip) = name.strip_prefix("IP:") {
            let addr: std::net::IpAddr = ip.parse().map_err(|_| format!("invalid IP {ip}"))?;
            let bytes = match addr {
                std::net::IpAddr::V4(a) => a.octets().to_vec(),
                std::net::IpAddr::V6(a) => a.octets().to_vec(),
            };
            general.push(GeneralName::IpAddress(
                OctetString::new(bytes).map_err(|e| e.to_string())?,
            ));
        } else {
            general.push(GeneralName::DnsName(
                Ia5String::new(&name).map_err(|_| format!("invalid DNS name {name}"))?,
            ));
        }
    }
    Ok(Some(SubjectAltName(general)))
}

/// A PEM CSR for `dn`, signed by `secret` (drawing from `rng` what its signature draws).
pub(crate) fn csr_pem(
    secret: &SimSecret,
    dn: &DistinguishedName,
    rng: &super::rng::SimRng,
) -> SimResult<String> {
    let mut builder = RequestBuilder::new(subject(dn)?).map_err(|e| e.to_string())?;
    if let Some(san) = alt_names(dn)? {
        builder.add_extension(&san).map_err(|e| e.to_string())?;
    }
    if matches!(secret, SimSecret::Generic(_)) {
        return Err("A Generic key cannot sign a CSR".into());
    }
    super::x509::csr_pem(builder, secret, rng)
}
