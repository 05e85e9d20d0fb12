//! Domain parameters of the curves the SmartCard-HSM generates keys on. GENERATE ASYMMETRIC KEY
//! PAIR sends them explicitly (p, a, b, G, n, h) and the card identifies the curve by them; the
//! values are the standard ones (SEC 2, RFC 5639), full length, big-endian.

use hsm_core::Curve;

/// Explicit domain parameters of a prime curve.
#[derive(Debug)]
pub struct CurveParams {
    /// The curve.
    pub curve: Curve,
    /// The prime p.
    pub p: &'static [u8],
    /// Coefficient a.
    pub a: &'static [u8],
    /// Coefficient b.
    pub b: &'static [u8],
    /// The base point, uncompressed (04 || x || y).
    pub g: &'static [u8],
    /// The order n.
    pub n: &'static [u8],
    /// The cofactor h.
    pub h: &'static [u8],
}

use hsm_core::const_hex::decode as hex;

/// A prime curve's [`CurveParams`] from its field length in bytes and its parameters in hex:
/// every value has that length, the base point is sent uncompressed (`04 || x || y`) and the
/// cofactor is 1. A value of another length fails the build.
macro_rules! curve_params {
    (
        curve: $curve:expr,
        len: $len:literal,
        p: $($p:literal)+,
        a: $($a:literal)+,
        b: $($b:literal)+,
        gx: $($gx:literal)+,
        gy: $($gy:literal)+,
    ) => {
        CurveParams {
            curve: $curve,
            p: &hex::<$len>(concat!($($p),+)),
            a: &hex::<$len>(concat!($($a),+)),
            b: &hex::<$len>(concat!($($b),+)),
            g: &hex::<{ 2 * $len + 1 }>(concat!("04", $($gx,)+ $($gy),+)),
            n: $curve.order(),
            h: &[0x01],
        }
    };
}

/// prime256v1.
pub const P256: CurveParams = curve_params! {
    curve: Curve::P256,
    len: 32,
    p: "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    a: "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
    b: "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    gx: "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    gy: "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",

};

/// secp384r1.
pub const P384: CurveParams = curve_params! {
    curve: Curve::P384,
    len: 48,
    p:
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe"
        "ffffffff0000000000000000ffffffff",
    a:
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe"
        "ffffffff0000000000000000fffffffc",
    b:
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
        "c656398d8a2ed19d2a85c8edd3ec2aef",
    gx:
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
        "5502f25dbf55296c3a545e3872760ab7",
    gy:
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
        "0a60b1ce1d7e819d7a431d7c90ea0e5f",
};

/// secp521r1.
pub const P521: CurveParams = curve_params! {
    curve: Curve::P521,
    len: 66,
    p:
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffff",
    a:
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "fffc",
    b:
        "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef1"
        "09e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b50"
        "3f00",
    gx:
        "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d"
        "3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5"
        "bd66",
    gy:
        "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e"
        "662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd1"
        "6650",
};

/// secp256k1.
pub const SECP256K1: CurveParams = curve_params! {
    curve: Curve::Secp256k1,
    len: 32,
    p: "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
    a: "0000000000000000000000000000000000000000000000000000000000000000",
    b: "0000000000000000000000000000000000000000000000000000000000000007",
    gx: "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    gy: "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",

};

/// brainpoolP256r1.
pub const BP256R1: CurveParams = curve_params! {
    curve: Curve::BrainpoolP256r1,
    len: 32,
    p: "a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377",
    a: "7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9",
    b: "26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6",
    gx: "8bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262",
    gy: "547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997",

};

/// brainpoolP384r1.
pub const BP384R1: CurveParams = curve_params! {
    curve: Curve::BrainpoolP384r1,
    len: 48,
    p:
        "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123"
        "acd3a729901d1a71874700133107ec53",
    a:
        "7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f"
        "8aa5814a503ad4eb04a8c7dd22ce2826",
    b:
        "04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d5"
        "7cb4390295dbc9943ab78696fa504c11",
    gx:
        "1d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8"
        "e826e03436d646aaef87b2e247d4af1e",
    gy:
        "8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff9912928"
        "0e4646217791811142820341263c5315",
};

/// brainpoolP512r1.
pub const BP512R1: CurveParams = curve_params! {
    curve: Curve::BrainpoolP512r1,
    len: 64,
    p:
        "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330871"
        "7d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3",
    a:
        "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc"
        "2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca",
    b:
        "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a7"
        "2bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723",
    gx:
        "81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098e"
        "ff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f822",
    gy:
        "7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111"
        "b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892",
};

/// Every curve this crate can generate keys on.
pub const ALL: &[&CurveParams] = &[
    &P256, &P384, &P521, &SECP256K1, &BP256R1, &BP384R1, &BP512R1,
];

/// The parameters of `curve`, if the card supports it.
#[must_use]
pub fn params(curve: Curve) -> Option<&'static CurveParams> {
    ALL.iter().copied().find(|c| c.curve == curve)
}

/// Identifies a curve by its prime and coefficient a (as OpenSC does; leading zeros ignored). An
/// empty `a` matches by the prime alone (as the card does).
#[must_use]
pub fn identify(p: &[u8], a: &[u8]) -> Option<&'static CurveParams> {
    let p = crate::protocol::tlv::trim_unsigned(p);
    let a = crate::protocol::tlv::trim_unsigned(a);
    ALL.iter().copied().find(|c| {
        crate::protocol::tlv::trim_unsigned(c.p) == p
            && (a.is_empty() || crate::protocol::tlv::trim_unsigned(c.a) == a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for c in ALL {
            let len = c.curve.field_len();
            assert_eq!(c.p.len(), len, "{:?}", c.curve);
            assert_eq!(c.g.len(), 2 * len + 1, "{:?}", c.curve);
            assert_eq!(identify(c.p, c.a).map(|x| x.curve), Some(c.curve));
            // n is hsm-core's `Curve::order` (checked there against RustCrypto's curves).
            assert_eq!(c.n.len(), len, "{:?}", c.curve);
        }
    }
}
