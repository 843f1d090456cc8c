//! Microsoft's driver signing policy as a table: which rule applies to a verified chain and
//! what Windows then does, each rule with the page it comes from.

use super::chain::{AnchorKind, CROSS_SIGNING_CUTOFF, ChainReport};

const POLICY_PAGE: &str = "https://learn.microsoft.com/en-us/windows-hardware/drivers/install/kernel-mode-code-signing-policy--windows-vista-and-later-";
const CROSS_CERT_PAGE: &str = "https://learn.microsoft.com/en-us/windows-hardware/drivers/install/cross-certificates-for-kernel-mode-code-signing";

/// One rule of the policy.
pub struct Rule {
    pub id: &'static str,
    applies: fn(&ChainReport) -> bool,
    effect: fn(&ChainReport) -> String,
    /// Where Microsoft states it.
    pub source: &'static str,
}

impl Rule {
    /// What Windows does with a driver this rule applies to.
    pub fn effect(&self, chain: &ChainReport) -> String {
        (self.effect)(chain)
    }
}

fn cross_signed(c: &ChainReport) -> bool {
    c.anchor == Some(AnchorKind::CrossCertificate)
}

/// The rules, in the order they are stated.
pub const RULES: &[Rule] = &[
    Rule {
        id: "microsoft-signed",
        applies: |c| c.anchor == Some(AnchorKind::Microsoft),
        effect: |c| {
            format!(
                "signed through a Microsoft root ({}): accepted by every Windows version, also 10 1607+ with Secure Boot on",
                c.root.as_deref().unwrap_or("?")
            )
        },
        source: POLICY_PAGE,
    },
    Rule {
        id: "cross-signed-before-cutoff",
        applies: |c| cross_signed(c) && !c.after_cross_signing_cutoff(),
        effect: |c| {
            format!(
                "cross-signed (Microsoft cross-certificate for {}), signing certificate issued {} before 2015-07-29: loads on Windows Vista to 10, also 1607+ with Secure Boot on",
                c.root.as_deref().unwrap_or("?"),
                c.signer_not_before.as_deref().unwrap_or("?")
            )
        },
        source: POLICY_PAGE,
    },
    Rule {
        id: "cross-signed-after-cutoff",
        applies: ChainReport::after_cross_signing_cutoff,
        effect: |c| {
            format!(
                "cross-signed with a signing certificate issued {} (on or after {}): Windows 10 1607+ with Secure Boot on refuses it unless the PC was upgraded from an earlier release; it loads with Secure Boot off and on earlier versions",
                c.signer_not_before.as_deref().unwrap_or("?"),
                &CROSS_SIGNING_CUTOFF[..10]
            )
        },
        source: POLICY_PAGE,
    },
    Rule {
        id: "cross-certificate-pinned",
        applies: cross_signed,
        effect: |_| {
            "the cross-certificate is one Microsoft published for kernel-mode signing (pinned by thumbprint)".to_string()
        },
        source: CROSS_CERT_PAGE,
    },
    Rule {
        id: "given-root",
        applies: |c| c.anchor == Some(AnchorKind::Given),
        effect: |c| {
            format!(
                "judged against a root you gave ({}): Windows trusts it only if that root is trusted for kernel code on the machine (otherwise: test signing)",
                c.root.as_deref().unwrap_or("?")
            )
        },
        source: POLICY_PAGE,
    },
];

/// The rules that apply to a verified chain.
pub fn applicable(chain: &ChainReport) -> impl Iterator<Item = &'static Rule> + '_ {
    RULES.iter().filter(move |r| (r.applies)(chain))
}
