//! The synthetic signer: a fixed RSA-2048 key and its self-signed root "bsodwb synthetic test
//! root", used by the writers to sign catalogs of synthetic cases (demo, fixtures, benchmarks).
//!
//! The private key is public (it is in this file), so the root is never trusted when a case is
//! analysed: only a process that itself writes synthetic data with it trusts it, for that run
//! ([`trust_synthetic_root`], called by the writers). `bsodwb sig` on a synthetic case written by
//! another process judges its catalogs `test-signed` unless given `--roots` with
//! [`SYNTHETIC_ROOT_PEM`].

/// The synthetic root certificate (self-signed, CA, codeSigning EKU).
pub const SYNTHETIC_ROOT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIDcjCCAlqgAwIBAgICUVcwDQYJKoZIhvcNAQELBQAwPjEXMBUGA1UECgwOYnNv\nZC13b3JrYmVuY2gxIzAhBgNVBAMMGmJzb2R3YiBzeW50aGV0aWMgdGVzdCByb290\nMCAXDTI2MTIwNDIwNTEyMFoYDzIxMjYxMTEwMjA1MTIwWjA+MRcwFQYDVQQKDA5i\nc29kLXdvcmtiZW5jaDEjMCEGA1UEAwwaYnNvZHdiIHN5bnRoZXRpYyB0ZXN0IHJv\nb3QwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDDU7vLrmTVvLzTm345\ns6A0MlOFYNsQDDmxftZp5ZfLVA4CwL1tOi6Rc1cQdRDbfwc/yAGRZIxcf+bSgU7N\nw1tIhxXcXJOtYXBZP6+KTB1x7Hfgi4J/jiOFEqjZFQX13vv9z2G1LMdyHWrgWbQr\nBuOmZ+0+d6V0Oi5wukNjzrg1tK3jECWw4PYmOVavdRIIvd707r5MMWI36gk7ymnw\n7dAdizmmQwC46BfQ7YGFvGMd6RAalBmBIr80KkWoAj+qBrAoNGe9NSNCnTeO3QJ8\n15tDGJA1bA49n0SahNPO/EYonVhfsYH35Q+0106BgI6Mh0WpHkjEksRI2v8a0CE2\n10IFAgMBAAGjeDB2MB0GA1UdDgQWBBTpqUzIK073W9RTG6C//tuLBUs6UDAfBgNV\nHSMEGDAWgBTpqUzIK073W9RTG6C//tuLBUs6UDAPBgNVHRMBAf8EBTADAQH/MA4G\nA1UdDwEB/wQEAwIChDATBgNVHSUEDDAKBggrBgEFBQcDAzANBgkqhkiG9w0BAQsF\nAAOCAQEAvkJ3lavb9JphXqkLBkRnPUums7iYalCLFmrsMY+RiJpWTvE7DqjyuePV\nT5LFCogqXN4HylCMOhalK0fH6mb0Kvqxpyr3bH5p7uBD6vWXVk+naqiJhqYAXVdW\nxzSv7FOf+/LATz9e/qlyB3Q+nviqCjVYosterrHH1WUr83b2bPeM6e/YvVirlNaN\nbo8O9qJSCJZyi7eNGufhK6TmyJ6Lvykdao6SrPlx1Azm4TSKlBhifNjQODbj1aW6\nDVTveN5uVAR+4xcKBKtrnLRkJtwbOxrlXmHc70mxsvGB58Gs3tnJr3SI9FZnLM5I\n053CogiN5KWTU7BnntbRKjVWovY45g==\n-----END CERTIFICATE-----\n";

const N: &str = "00c353bbcbae64d5bcbcd39b7e39b3a03432538560db100c39b17ed669e597cb540e02c0bd6d3a2e917357107510db7f073fc80191648c5c7fe6d2814ecdc35b488715dc5c93ad6170593faf8a4c1d71ec77e08b827f8e238512a8d91505f5defbfdcf61b52cc7721d6ae059b42b06e3a667ed3e77a5743a2e70ba4363ceb835b4ade31025b0e0f6263956af751208bddef4eebe4c316237ea093bca69f0edd01d8b39a64300b8e817d0ed8185bc631de9101a94198122bf342a45a8023faa06b0283467bd3523429d378edd027cd79b431890356c0e3d9f449a84d3cefc46289d585fb181f7e50fb4d74e81808e8c8745a91e48c492c448daff1ad02136d74205";
const D: &str = "280004cc50596bffebb775f7627fab8624ec3fbb3701514f9b4ebb4012798475212d652525b22d8931d299972fad9394fb75cd04664fec3d711a98ca778ed329c6282ee97280a61ca8da46eb8e6cd540b4c7f229f64f386cef064ef6643316c80a112714402853f13c4ad773f2ffc52cf5c97aea6ba2a2ab920042feb47dbad97a996c60a6567ca9b2de6099c07df413238a2ce6e7690563e9d6633e29bf90ac64149a3a456906ec7649fb9a81753978e360789dd2718cfbaa870a9c6d1651ebd9a94fcb7f114e71bd0e7f6b20f7ddfb7b14e3c71afca27b78f06b939c64c3834c8c2d463bf4a4358ef630d467695cc8920629d12d859d386ad2f5447456eb41";
const P: &str = "00ef71c04f188340d91975984eb2382eedbf8308c1887218753ea874004345b748cbefe1b9fe0d94ec85939a033665b92380c8ba73248bb59313d9f07c8f62cee5b4e2e307e737a0b72fa989f174ef8841d4b3b2fda732c8733088dc2a6ac504ed5a418c140349bb140de5f1ed56b13c607c1abfc8a537206d907f5b258c3c2f51";
const Q: &str = "00d0d5176a0c11e3001c3c0c550768dbad71abde1c9cd89b9366d42ba7f9e244351de10fbac86dc8ada55fef179bf326e440f458c1ddb7c2ef489c9072d45f45549d9a8bd884c85f711cf7fd4b951da2f9283bfb00760a38449dcfdb69700f3f311b7bc967e78b04c72e3dd194b38f4bb297fd3974a4fee2b0b02db3372fc70275";

fn big(hex: &str) -> rsa::BigUint {
    rsa::BigUint::from_bytes_be(&crate::signing::der::from_hex(hex).unwrap_or_default())
}

/// The root certificate as DER.
pub fn synthetic_root_der() -> Vec<u8> {
    let b64: String = SYNTHETIC_ROOT_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    crate::text::base64_decode(&b64).unwrap_or_default()
}

/// Trust the synthetic root in this process (the writers call it: what a process writes, it
/// may trust).
pub fn trust_synthetic_root() {
    crate::signing::chain::trust_in_session(synthetic_root_der());
}

/// RSA PKCS#1 v1.5 signature with SHA-256 over `message` by the synthetic key.
pub fn sign_sha256(message: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let hashed = sha2::Sha256::digest(message);
    let prefix = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(32),
        prefix: prefix.into_boxed_slice(),
    };
    rsa::RsaPrivateKey::from_components(
        big(N),
        rsa::BigUint::from(65537u32),
        big(D),
        vec![big(P), big(Q)],
    )
    .and_then(|k| k.sign(scheme, &hashed))
    .unwrap_or_default()
}
