//! A small SVG writer: elements with attributes and text, written one per
//! line so that snapshots and diffs stay readable. Every attribute value and
//! text is escaped; coordinates are written with at most two decimals.

use std::fmt::Write as _;

use crate::format::{coord, escape};

/// The SVG namespace (the only URL the report contains).
pub const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// The font stack of every figure: fonts installed on the reader's machine,
/// never downloaded.
pub const FONT_FAMILY: &str = "'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', sans-serif";

/// Approximate width of `text` at `size` px in the sans-serif font, for
/// layout (no font metrics are available without fonts).
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | 't' | 'f' | 'I' | '.' | ',' | ':' | ';' | '|' | '\'' | ' ' | '['
            | ']' | '(' | ')' | '/' => 0.32,
            'm' | 'w' | 'M' | 'W' | '%' | '—' | '∞' => 0.86,
            c if c.is_ascii_uppercase() => 0.68,
            c if c.is_ascii_digit() => 0.56,
            _ => 0.54,
        })
        .sum::<f64>()
        * size
}

/// One SVG element.
#[derive(Debug, Clone)]
pub struct El {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    text: Option<String>,
    children: Vec<El>,
}

impl El {
    /// An element without attributes.
    pub fn new(name: &'static str) -> El {
        El {
            name,
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    /// A text attribute (escaped when written).
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> El {
        self.attrs.push((name, value.into()));
        self
    }

    /// A numeric attribute (coordinate precision).
    pub fn num(mut self, name: &'static str, value: f64) -> El {
        self.attrs.push((name, coord(value)));
        self
    }

    /// Text content (escaped when written).
    pub fn text(mut self, text: impl Into<String>) -> El {
        self.text = Some(text.into());
        self
    }

    /// A child element.
    pub fn child(mut self, child: El) -> El {
        self.children.push(child);
        self
    }

    /// A `<title>` child: the tooltip of the element.
    pub fn title(self, text: impl Into<String>) -> El {
        self.child(El::new("title").text(text))
    }

    fn write(&self, out: &mut String, indent: usize) {
        for _ in 0..indent {
            out.push_str("  ");
        }
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attrs {
            let _ = write!(out, " {}=\"{}\"", name, escape(value));
        }
        if self.text.is_none() && self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push('>');
        if let Some(text) = &self.text {
            out.push_str(&escape(text));
        }
        if !self.children.is_empty() {
            out.push('\n');
            for child in &self.children {
                child.write(out, indent + 1);
            }
            for _ in 0..indent {
                out.push_str("  ");
            }
        }
        let _ = writeln!(out, "</{}>", self.name);
    }
}

/// A line from (x1, y1) to (x2, y2).
pub fn line(x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) -> El {
    El::new("line")
        .num("x1", x1)
        .num("y1", y1)
        .num("x2", x2)
        .num("y2", y2)
        .attr("stroke", stroke)
        .num("stroke-width", width)
}

/// A rectangle.
pub fn rect(x: f64, y: f64, w: f64, h: f64, fill: &str) -> El {
    El::new("rect")
        .num("x", x)
        .num("y", y)
        .num("width", w.max(0.0))
        .num("height", h.max(0.0))
        .attr("fill", fill)
}

/// Horizontal text anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

/// A text at (x, y) (baseline), `size` px.
pub fn text(x: f64, y: f64, content: impl Into<String>, size: f64, anchor: Anchor) -> El {
    let el = El::new("text")
        .num("x", x)
        .num("y", y)
        .num("font-size", size);
    let el = match anchor {
        Anchor::Start => el,
        Anchor::Middle => el.attr("text-anchor", "middle"),
        Anchor::End => el.attr("text-anchor", "end"),
    };
    el.text(content)
}

/// A whole figure.
#[derive(Debug, Clone)]
pub struct Svg {
    width: f64,
    height: f64,
    title: String,
    description: String,
    defs: Vec<El>,
    body: Vec<El>,
}

impl Svg {
    /// A figure of `width` × `height` px with an accessible title and
    /// description.
    pub fn new(
        width: f64,
        height: f64,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Svg {
        Svg {
            width,
            height,
            title: title.into(),
            description: description.into(),
            defs: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a definition (pattern, marker, gradient).
    pub fn def(&mut self, el: El) {
        self.defs.push(el);
    }

    /// Adds an element.
    pub fn push(&mut self, el: El) {
        self.body.push(el);
    }

    /// Adds several elements.
    pub fn extend(&mut self, els: impl IntoIterator<Item = El>) {
        self.body.extend(els);
    }

    /// The SVG text; usable as a standalone `.svg` file and inline in HTML.
    pub fn finish(self) -> String {
        let mut root = El::new("svg")
            .attr("xmlns", SVG_NS)
            .attr(
                "viewBox",
                format!("0 0 {} {}", coord(self.width), coord(self.height)),
            )
            .num("width", self.width)
            .num("height", self.height)
            .attr("role", "img")
            .attr("font-family", FONT_FAMILY)
            .attr("font-size", "12")
            .attr("fill", "#1a1a1a")
            .child(El::new("title").text(self.title))
            .child(El::new("desc").text(self.description));
        if !self.defs.is_empty() {
            let mut defs = El::new("defs");
            defs.children = self.defs;
            root = root.child(defs);
        }
        // A white background so that the standalone file is readable in
        // viewers with a dark or checkered background.
        root = root.child(rect(0.0, 0.0, self.width, self.height, "#ffffff"));
        root.children.extend(self.body);
        let mut out = String::new();
        root.write(&mut out, 0);
        out
    }
}

/// Linear interpolation between two colours given as `#rrggbb`.
pub fn mix(from: [u8; 3], to: [u8; 3], t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let c = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        c(from[0], to[0]),
        c(from[1], to[1]),
        c(from[2], to[2])
    )
}

/// "Nice" axis ticks covering `0..=max` (at most about `target` ticks).
pub fn nice_ticks(max: f64, target: usize) -> Vec<f64> {
    if !(max.is_finite() && max > 0.0) {
        return vec![0.0, 1.0];
    }
    let raw = max / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let count = (max / step).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_escaped() {
        let mut out = String::new();
        El::new("text")
            .attr("class", "a\"b")
            .text("<b>&")
            .write(&mut out, 0);
        assert_eq!(out, "<text class=\"a&quot;b\">&lt;b&gt;&amp;</text>\n");
    }

    #[test]
    fn ticks() {
        assert_eq!(nice_ticks(10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(nice_ticks(7.3, 4), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(0.0, 4), vec![0.0, 1.0]);
    }

    #[test]
    fn colours() {
        assert_eq!(mix([255, 255, 255], [0, 0, 0], 0.5), "#808080");
        assert_eq!(mix([0, 0, 0], [255, 0, 0], 2.0), "#ff0000");
    }
}
