//! Coded vocabularies of the bundle format: every enum here is written in a
//! cell as its lower-case code (`lcssc`, `tuft_d1`, `acro_osteolysis`, …).
//!
//! Each vocabulary is declared once with [`codes!`](crate::codes); parsing,
//! display, the list of accepted codes in error messages, the serde names and
//! the code lists of `docs/bundle-format.md` all come from that one
//! declaration.

/// Declares a coded vocabulary: `Variant = "code" | "alias"…`, with the
/// noun phrase messages use for one value (`("a cutaneous subset")`).
///
/// The enum gets `ALL`, `WHAT`, `CODES`, `code`, `aliases`, `parse`
/// (case-insensitive, surrounding spaces ignored, aliases accepted),
/// `expected`, `index`, `Display` and serde (the code is the serialised
/// name). Used for the format's vocabularies here and for the store's
/// roles; the crate using it needs `serde`.
#[macro_export]
macro_rules! codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }

        impl $name {
            /// Every value, in the order the format lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// What a value of this vocabulary is, for messages ("a subset").
            pub const WHAT: &'static str = $what;
            /// Every code, in the order of [`Self::ALL`].
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The code written in a cell.
            pub const fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Other spellings accepted for this value (`f` for `female`).
            pub fn aliases(self) -> &'static [&'static str] {
                match self { $($name::$variant => &[$($alias),*]),+ }
            }

            /// Parses a cell: case-insensitive, surrounding spaces ignored.
            pub fn parse(text: &str) -> Option<Self> {
                let t = text.trim();
                $(
                    if t.eq_ignore_ascii_case($code) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The accepted codes, for an error message.
            pub fn expected() -> String {
                Self::CODES.join(", ")
            }

            /// Position in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

codes! {
    /// Sex as recorded in the clinical file.
    pub enum Sex ("a sex") {
        Female = "female" | "f",
        Male = "male" | "m",
    }
}

codes! {
    /// LeRoy/Medsger cutaneous subset.
    pub enum Subset ("a cutaneous subset") {
        /// Limited cutaneous SSc.
        Limited = "lcssc",
        /// Diffuse cutaneous SSc.
        Diffuse = "dcssc",
    }
}

codes! {
    /// Kind of CT examination, which fixes the default level coverage.
    pub enum CtType ("a CT type") {
        Thoracic = "thoracic",
        /// Thoraco-abdomino-pelvic.
        ThoracoAbdominoPelvic = "tap",
        Lumbar = "lumbar",
    }
}

codes! {
    /// The seven hand radiograph lesions (Erre et al. 2008).
    pub enum Lesion ("a hand lesion") {
        Calcinosis = "calcinosis",
        AcroOsteolysis = "acro_osteolysis",
        PeriarticularCalcification = "periarticular_calcification",
        Erosion = "erosion",
        JointSpaceNarrowing = "joint_space_narrowing",
        Subluxation = "subluxation",
        FlexionContracture = "flexion_contracture",
    }
}

codes! {
    /// Side of the hand a finding was seen on.
    pub enum HandSide ("a hand side") {
        Left = "left",
        Right = "right",
    }
}

codes! {
    /// Where on the hand a finding is recorded (d1 = thumb … d5 = little finger).
    pub enum HandSite ("a hand site") {
        TuftD1 = "tuft_d1", TuftD2 = "tuft_d2", TuftD3 = "tuft_d3", TuftD4 = "tuft_d4", TuftD5 = "tuft_d5",
        SoftTissueD1 = "soft_tissue_d1", SoftTissueD2 = "soft_tissue_d2", SoftTissueD3 = "soft_tissue_d3",
        SoftTissueD4 = "soft_tissue_d4", SoftTissueD5 = "soft_tissue_d5",
        /// Interphalangeal joint of the thumb.
        IpD1 = "ip_d1",
        DipD2 = "dip_d2", DipD3 = "dip_d3", DipD4 = "dip_d4", DipD5 = "dip_d5",
        PipD2 = "pip_d2", PipD3 = "pip_d3", PipD4 = "pip_d4", PipD5 = "pip_d5",
        McpD1 = "mcp_d1", McpD2 = "mcp_d2", McpD3 = "mcp_d3", McpD4 = "mcp_d4", McpD5 = "mcp_d5",
        /// First carpometacarpal joint.
        CmcD1 = "cmc_d1",
        Carpus = "carpus",
        Wrist = "wrist",
    }
}

/// The anatomical kind of a [`HandSite`], which decides what may be recorded there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    /// Distal phalangeal tuft.
    Tuft,
    /// Finger soft tissue.
    SoftTissue,
    /// A finger joint where a flexion contracture can be seen (IP, DIP, PIP, MCP).
    FingerJoint,
    /// First CMC, carpus or wrist.
    WristJoint,
}

impl HandSite {
    /// The anatomical kind of this site.
    pub fn kind(self) -> SiteKind {
        use HandSite::*;
        match self {
            TuftD1 | TuftD2 | TuftD3 | TuftD4 | TuftD5 => SiteKind::Tuft,
            SoftTissueD1 | SoftTissueD2 | SoftTissueD3 | SoftTissueD4 | SoftTissueD5 => {
                SiteKind::SoftTissue
            }
            IpD1 | DipD2 | DipD3 | DipD4 | DipD5 | PipD2 | PipD3 | PipD4 | PipD5 | McpD1
            | McpD2 | McpD3 | McpD4 | McpD5 => SiteKind::FingerJoint,
            CmcD1 | Carpus | Wrist => SiteKind::WristJoint,
        }
    }
}

impl Lesion {
    /// Whether the format allows this lesion to be recorded at `site`.
    pub fn allowed_at(self, site: HandSite) -> bool {
        let kind = site.kind();
        match self {
            Lesion::AcroOsteolysis => kind == SiteKind::Tuft,
            Lesion::Calcinosis => matches!(kind, SiteKind::Tuft | SiteKind::SoftTissue),
            Lesion::PeriarticularCalcification
            | Lesion::Erosion
            | Lesion::JointSpaceNarrowing
            | Lesion::Subluxation => matches!(kind, SiteKind::FingerJoint | SiteKind::WristJoint),
            Lesion::FlexionContracture => kind == SiteKind::FingerJoint,
        }
    }

    /// Where this lesion may be recorded, in words, for error messages.
    pub fn allowed_sites(self) -> &'static str {
        match self {
            Lesion::AcroOsteolysis => "the tufts (tuft_d1…tuft_d5)",
            Lesion::Calcinosis => "the tufts and soft tissue (tuft_*, soft_tissue_*)",
            Lesion::FlexionContracture => "the finger joints (ip_d1, dip_*, pip_*, mcp_*)",
            _ => "joints (ip_d1, dip_*, pip_*, mcp_*, cmc_d1, carpus, wrist)",
        }
    }
}

codes! {
    /// The three CT segments of a vertebral level.
    pub enum SpineSegment ("a spine segment") {
        /// Discovertebral: vertebral body, disc, anterior and lateral soft tissue.
        Anterior = "anterior",
        /// Intracanal: epidural space, ligamentum flavum, posterior longitudinal ligament.
        Canal = "canal",
        /// Posterior arch, facet joints and paraspinal soft tissue.
        Posterior = "posterior",
    }
}

codes! {
    /// Side of a spinal calcification.
    pub enum SpineSide ("a spine side") {
        Left = "left",
        Right = "right",
        Midline = "midline",
        Bilateral = "bilateral",
    }
}

codes! {
    /// Shape of a spinal calcification.
    pub enum Morphology ("a morphology") {
        Punctate = "punctate",
        Nodular = "nodular",
        Linear = "linear",
        Amorphous = "amorphous",
        Mass = "mass",
    }
}

codes! {
    /// The patient-level spine flags of the `patients` table.
    pub enum SpineFlag ("a spine flag") {
        Anterior = "spine_anterior",
        Canal = "spine_canal",
        Foraminal = "spine_foraminal",
        Posterior = "spine_posterior",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_case_insensitively_with_aliases() {
        assert_eq!(Sex::parse(" F "), Some(Sex::Female));
        assert_eq!(Sex::parse("MALE"), Some(Sex::Male));
        assert_eq!(Sex::parse("w"), None);
        assert_eq!(Subset::parse("dcSSc"), Some(Subset::Diffuse));
        assert_eq!(CtType::parse("TAP"), Some(CtType::ThoracoAbdominoPelvic));
        assert_eq!(
            HandSite::parse("soft_tissue_d3"),
            Some(HandSite::SoftTissueD3)
        );
        assert_eq!(HandSite::ALL.len(), 27);
        for site in HandSite::ALL {
            assert_eq!(HandSite::parse(site.code()), Some(*site));
        }
        assert_eq!(Subset::expected(), "lcssc, dcssc");
    }

    #[test]
    fn lesion_sites_follow_the_format() {
        assert!(Lesion::AcroOsteolysis.allowed_at(HandSite::TuftD3));
        assert!(!Lesion::AcroOsteolysis.allowed_at(HandSite::SoftTissueD3));
        assert!(!Lesion::AcroOsteolysis.allowed_at(HandSite::DipD2));
        assert!(Lesion::Calcinosis.allowed_at(HandSite::SoftTissueD1));
        assert!(!Lesion::Calcinosis.allowed_at(HandSite::McpD2));
        assert!(Lesion::Erosion.allowed_at(HandSite::Wrist));
        assert!(Lesion::Erosion.allowed_at(HandSite::IpD1));
        assert!(!Lesion::Erosion.allowed_at(HandSite::TuftD1));
        assert!(Lesion::FlexionContracture.allowed_at(HandSite::PipD4));
        assert!(!Lesion::FlexionContracture.allowed_at(HandSite::Carpus));
        assert!(!Lesion::FlexionContracture.allowed_at(HandSite::CmcD1));
    }
}
