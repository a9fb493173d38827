//! A box-and-arrow diagram drawn as SVG, with a deterministic layout (the IS map of
//! hygie-inventory's `map` is one): boxes stacked in columns, lines of text inside each box
//! (an icon letter, the text, badges), arrows between boxes with a label. No script, no
//! external resource, no font metrics: widths are fixed and long texts are cut with "…", so the
//! same diagram always gives the same bytes.
//!
//! Layout: each column is [`COLUMN_WIDTH`] wide, separated by [`GAP`] for the arrows and their
//! labels; boxes follow each other down their column. An arrow leaves the side of its box that
//! faces the target (the right side for two boxes of one column, drawn as a curve outside the
//! column); the arrows on one side of a box are spread evenly along it, in the order of the
//! diagram's arrows, so they do not share an end point.

use askama::Template;

/// Width of a column (a box), in SVG units.
pub const COLUMN_WIDTH: u32 = 300;
/// Space between two columns, where arrows and their labels go.
pub const GAP: u32 = 170;
const MARGIN: u32 = 20;
const HEADER: u32 = 44;
const LINE: u32 = 16;
const BOX_GAP: u32 = 36;
/// Characters of a line's text kept inside a box (monospace-free estimate at 12 px).
const TEXT_CHARS: usize = 30;
const LABEL_CHARS: usize = 28;

/// A diagram to draw.
#[derive(Debug, Clone, Default)]
pub struct Diagram {
    pub title: String,
    /// A line under the title (where the data comes from).
    pub note: String,
    pub boxes: Vec<DiagramBox>,
    pub arrows: Vec<Arrow>,
    /// (class, text) pairs shown under the title: what the icons and badges mean.
    pub legend: Vec<(String, String)>,
}

/// A box: a title, a subtitle and lines.
#[derive(Debug, Clone, Default)]
pub struct DiagramBox {
    pub column: usize,
    pub title: String,
    pub subtitle: String,
    /// A CSS class of the box (`zone-guest`, `zone-biomedical`...), from a fixed set.
    pub class: String,
    pub lines: Vec<BoxLine>,
}

/// A line inside a box.
#[derive(Debug, Clone, Default)]
pub struct BoxLine {
    /// One letter or symbol drawn in a small square (empty: none).
    pub icon: String,
    pub icon_class: String,
    pub text: String,
    /// Short tags after the text (`KEV`, `EOL`...).
    pub badges: Vec<String>,
    /// Drawn in bold (a marked asset).
    pub strong: bool,
}

/// An arrow from one box to another (indices into `boxes`).
#[derive(Debug, Clone, Default)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub label: String,
    /// Drawn in red: against the policy.
    pub bad: bool,
}

struct PlacedBox<'a> {
    b: &'a DiagramBox,
    x: u32,
    y: u32,
    h: u32,
    lines: Vec<PlacedLine>,
}

struct PlacedLine {
    y: u32,
    icon: String,
    icon_class: String,
    text: String,
    badges: String,
    badges_x: u32,
    strong: bool,
}

struct PlacedArrow {
    path: String,
    label: String,
    lx: i64,
    ly: i64,
    bad: bool,
}

#[derive(Template)]
#[template(path = "diagram.svg")]
struct DiagramSvg<'a> {
    width: u32,
    height: u32,
    title: &'a str,
    note: &'a str,
    legend: Vec<(String, String, u32)>,
    boxes: Vec<PlacedBox<'a>>,
    arrows: Vec<PlacedArrow>,
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut o: String = s.chars().take(n.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

fn col_x(c: usize) -> u32 {
    MARGIN
        + u32::try_from(c)
            .unwrap_or(u32::MAX / 2)
            .saturating_mul(COLUMN_WIDTH + GAP)
}

/// Which side of a box an arrow end attaches to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
}

/// The diagram as a standalone SVG document (`<svg xmlns=...>`), the same bytes for the same
/// diagram.
pub fn svg(d: &Diagram) -> String {
    let top = MARGIN + 40 + if d.legend.is_empty() { 0 } else { 22 };
    let columns = d.boxes.iter().map(|b| b.column + 1).max().unwrap_or(1);
    let mut next_y = vec![top; columns];
    let mut boxes = Vec::with_capacity(d.boxes.len());
    for b in &d.boxes {
        let x = col_x(b.column);
        let y = next_y[b.column];
        let n = u32::try_from(b.lines.len()).unwrap_or(u32::MAX / LINE / 2);
        let h = HEADER + n * LINE + 10;
        next_y[b.column] = y + h + BOX_GAP;
        let lines = b
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let text = cut(&l.text, TEXT_CHARS);
                let chars = u32::try_from(text.chars().count()).unwrap_or(0);
                PlacedLine {
                    y: y + HEADER + 12 + u32::try_from(i).unwrap_or(0) * LINE,
                    icon: l.icon.clone(),
                    icon_class: l.icon_class.clone(),
                    badges: l.badges.join(" "),
                    badges_x: (x + 26 + chars * 7 + 6).min(x + COLUMN_WIDTH - 40),
                    text,
                    strong: l.strong,
                }
            })
            .collect();
        boxes.push(PlacedBox { b, x, y, h, lines });
    }
    let height = next_y.iter().copied().max().unwrap_or(top) + MARGIN;
    let width = col_x(columns - 1) + COLUMN_WIDTH + GAP.min(120) + MARGIN;
    // Each arrow's two ends: (box, side); the ends on one side of a box are spread evenly.
    let ends: Vec<((usize, Side), (usize, Side))> = d
        .arrows
        .iter()
        .map(|a| {
            let (cf, ct) = (
                d.boxes.get(a.from).map_or(0, |b| b.column),
                d.boxes.get(a.to).map_or(0, |b| b.column),
            );
            match cf.cmp(&ct) {
                std::cmp::Ordering::Less => ((a.from, Side::Right), (a.to, Side::Left)),
                std::cmp::Ordering::Greater => ((a.from, Side::Left), (a.to, Side::Right)),
                std::cmp::Ordering::Equal => ((a.from, Side::Right), (a.to, Side::Right)),
            }
        })
        .collect();
    let mut count: std::collections::BTreeMap<(usize, Side), u32> = Default::default();
    for (s, e) in &ends {
        *count.entry(*s).or_default() += 1;
        *count.entry(*e).or_default() += 1;
    }
    let mut used: std::collections::BTreeMap<(usize, Side), u32> = Default::default();
    let mut point = |key: (usize, Side)| -> Option<(i64, i64)> {
        let p = boxes.get(key.0)?;
        let k = used.entry(key).or_default();
        *k += 1;
        let n = count.get(&key).copied().unwrap_or(1);
        let y = p.y + 8 + *k * (p.h.saturating_sub(16)) / (n + 1);
        let x = match key.1 {
            Side::Left => p.x,
            Side::Right => p.x + COLUMN_WIDTH,
        };
        Some((i64::from(x), i64::from(y)))
    };
    let mut arrows = Vec::with_capacity(d.arrows.len());
    for (a, (s, e)) in d.arrows.iter().zip(ends) {
        let (Some((x1, y1)), Some((x2, y2))) = (point(s), point(e)) else {
            continue;
        };
        let (path, lx, ly) = if s.1 == e.1 {
            // Two boxes of one column: a curve outside the column's right side.
            let bulge = 60 + (y2 - y1).abs() / 8;
            (
                format!(
                    "M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}",
                    x1 + bulge,
                    x2 + bulge
                ),
                x1 + bulge * 3 / 4 + 4,
                (y1 + y2) / 2,
            )
        } else {
            let mx = (x1 + x2) / 2;
            (
                format!("M{x1},{y1} C{mx},{y1} {mx},{y2} {x2},{y2}"),
                mx,
                (y1 + y2) / 2 - 3,
            )
        };
        arrows.push(PlacedArrow {
            path,
            label: cut(&a.label, LABEL_CHARS),
            lx,
            ly,
            bad: a.bad,
        });
    }
    let mut lx = MARGIN;
    let legend = d
        .legend
        .iter()
        .map(|(c, t)| {
            let x = lx;
            lx += 24 + u32::try_from(t.chars().count()).unwrap_or(0) * 7;
            (c.clone(), t.clone(), x)
        })
        .collect();
    crate::render(&DiagramSvg {
        width,
        height,
        title: &d.title,
        note: &d.note,
        legend,
        boxes,
        arrows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagram() -> Diagram {
        let line = |t: &str| BoxLine {
            icon: "S".into(),
            icon_class: "server".into(),
            text: t.into(),
            badges: vec!["KEV".into()],
            strong: true,
        };
        Diagram {
            title: "Map <&>".into(),
            note: "note".into(),
            boxes: vec![
                DiagramBox {
                    column: 0,
                    title: "a".into(),
                    lines: vec![line("one"), line(&"x".repeat(80))],
                    ..Default::default()
                },
                DiagramBox {
                    column: 1,
                    title: "b".into(),
                    ..Default::default()
                },
                DiagramBox {
                    column: 1,
                    title: "c".into(),
                    ..Default::default()
                },
            ],
            arrows: vec![
                Arrow {
                    from: 0,
                    to: 1,
                    label: "tcp/443".into(),
                    bad: false,
                },
                Arrow {
                    from: 1,
                    to: 2,
                    label: "any".into(),
                    bad: true,
                },
                Arrow {
                    from: 2,
                    to: 0,
                    label: "udp/53".into(),
                    bad: false,
                },
            ],
            legend: vec![("server".into(), "Server".into())],
        }
    }

    #[test]
    fn same_diagram_same_bytes_escaped_and_laid_out_in_columns() {
        let d = diagram();
        let a = svg(&d);
        assert_eq!(a, svg(&d));
        assert!(
            a.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{a}"
        );
        assert!(a.contains("Map &lt;&amp;&gt;"));
        assert!(!a.contains(&"x".repeat(31)), "long text cut");
        // Box a in column 0 at x = 20, boxes b and c in column 1 at x = 490, c under b.
        assert!(a.contains(r#"<rect class="m-box " x="20" y="82""#), "{a}");
        assert!(a.contains(r#"<rect class="m-box " x="490" y="82""#), "{a}");
        assert!(a.contains(r#"<rect class="m-box " x="490" y="172""#), "{a}");
        assert_eq!(a.matches("<path class=\"m-arrow").count(), 3);
        assert_eq!(a.matches("m-arrow m-bad").count(), 1);
    }
}
