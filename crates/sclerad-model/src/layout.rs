//! Where the hand sites lie on a posteroanterior (PA) view of both hands:
//! the drawing the reading form shows, and the layout the synthetic
//! radiographs are drawn to, so a site on one is the site on the other.

use crate::HandSite;

/// A line from (x1, y1) to (x2, y2), in drawing units.
pub type Stroke = (i32, i32, i32, i32);

/// The drawing's size: both hands, 1000 × 600 units.
pub const DRAWING: (i32, i32) = (1000, 600);

/// Where a site is drawn on the patient's right hand, which the PA view
/// shows on the viewer's left, palm towards the viewer, thumb towards the
/// middle: (x, y, radius) in the drawing's units (1000 × 600 for both
/// hands; the left hand is its mirror image about x = 500).
pub fn site_point(site: HandSite) -> (i32, i32, i32) {
    use HandSite::*;
    // Digits 2–5: (x, tuft, DIP, PIP, MCP).
    let digit = |d: u8| match d {
        2 => (310, 80, 132, 212, 338),
        3 => (230, 48, 102, 188, 332),
        4 => (150, 78, 128, 208, 340),
        _ => (72, 152, 196, 256, 350),
    };
    let soft = |d: u8| {
        let (x, _, dip, pip, _) = digit(d);
        (x - 27, (dip + pip) / 2, 9)
    };
    match site {
        TuftD1 => (442, 196, 14),
        IpD1 => (424, 250, 13),
        McpD1 => (396, 322, 13),
        CmcD1 => (352, 408, 13),
        SoftTissueD1 => (455, 228, 9),
        TuftD2 => (digit(2).0, digit(2).1, 14),
        TuftD3 => (digit(3).0, digit(3).1, 14),
        TuftD4 => (digit(4).0, digit(4).1, 14),
        TuftD5 => (digit(5).0, digit(5).1, 14),
        SoftTissueD2 => soft(2),
        SoftTissueD3 => soft(3),
        SoftTissueD4 => soft(4),
        SoftTissueD5 => soft(5),
        DipD2 => (digit(2).0, digit(2).2, 13),
        DipD3 => (digit(3).0, digit(3).2, 13),
        DipD4 => (digit(4).0, digit(4).2, 13),
        DipD5 => (digit(5).0, digit(5).2, 13),
        PipD2 => (digit(2).0, digit(2).3, 13),
        PipD3 => (digit(3).0, digit(3).3, 13),
        PipD4 => (digit(4).0, digit(4).3, 13),
        PipD5 => (digit(5).0, digit(5).3, 13),
        McpD2 => (digit(2).0, digit(2).4, 13),
        McpD3 => (digit(3).0, digit(3).4, 13),
        McpD4 => (digit(4).0, digit(4).4, 13),
        McpD5 => (digit(5).0, digit(5).4, 13),
        Carpus => (222, 436, 26),
        Wrist => (222, 520, 20),
    }
}

/// The outline of the patient's right hand (fingers from tuft to MCP,
/// the thumb from tuft to CMC) and its palm, in the same units.
pub fn right_hand_outline() -> (Vec<Stroke>, Vec<(i32, i32)>) {
    use HandSite::*;
    let line = |a: HandSite, b: HandSite| {
        let (x1, y1, _) = site_point(a);
        let (x2, y2, _) = site_point(b);
        (x1, y1 - 10, x2, y2)
    };
    let fingers = vec![
        line(TuftD5, McpD5),
        line(TuftD4, McpD4),
        line(TuftD3, McpD3),
        line(TuftD2, McpD2),
        line(TuftD1, CmcD1),
    ];
    let palm = vec![
        (50, 352),
        (150, 330),
        (318, 330),
        (372, 372),
        (330, 470),
        (292, 556),
        (152, 556),
        (112, 470),
        (52, 412),
    ];
    (fingers, palm)
}
