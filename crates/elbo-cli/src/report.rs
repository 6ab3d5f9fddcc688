//! The `reproduce` report: a self-contained `index.html` (SVGs inlined, no
//! external assets), a Markdown table `results.md` for the README, and the
//! same table as data in `summary.json`.

use serde::Serialize;

/// One line of a results table: a quantity, our value, the published one
/// and a peer implementation's, each with where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What is measured.
    pub quantity: String,
    /// Our value.
    pub ours: String,
    /// The published value, with its source.
    pub published: String,
    /// A peer implementation's value, with its source.
    pub peer: String,
}

impl Row {
    /// A row.
    pub fn new(
        quantity: impl Into<String>,
        ours: impl Into<String>,
        published: impl Into<String>,
        peer: impl Into<String>,
    ) -> Self {
        Self {
            quantity: quantity.into(),
            ours: ours.into(),
            published: published.into(),
            peer: peer.into(),
        }
    }
}

/// A figure to inline.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFigure {
    /// Caption.
    pub title: String,
    /// Path relative to the report directory.
    pub path: String,
    /// The SVG document (not serialised).
    #[serde(skip)]
    pub svg: String,
}

/// One experiment of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Directory name and anchor.
    pub key: String,
    /// Heading.
    pub title: String,
    /// What it shows, one paragraph.
    pub about: String,
    /// The command lines that produced it.
    pub commands: Vec<String>,
    /// The results table.
    pub rows: Vec<Row>,
    /// Figures.
    pub figures: Vec<ReportFigure>,
    /// Seconds it took.
    pub wall_seconds: f64,
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// Escape a Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The whole report as one HTML document; `peers` says where the peer
/// column comes from.
pub fn html(title: &str, intro: &str, peers: &str, sections: &[Section]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!("<title>{}</title>\n", escape(title)));
    h.push_str(
        "<style>\n\
         body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n\
         table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\n\
         th{background:#f3f3f3}code,pre{background:#f6f6f6;padding:.1em .3em}pre{padding:.5em;overflow-x:auto}\n\
         .figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0}figcaption{font-size:.9em;color:#555}\n\
         .placeholder{color:#a60}.recorded{color:#555;font-style:italic}.measured{color:#060}\n\
         </style>\n</head>\n<body>\n",
    );
    h.push_str(&format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p><b>Peers.</b> {}</p>\n",
        escape(title),
        escape(intro),
        escape(peers)
    ));
    h.push_str("<h2>Results</h2>\n<table>\n<tr><th>experiment</th><th>quantity</th><th>ours</th><th>published</th><th>peer</th></tr>\n");
    for s in sections {
        for r in &s.rows {
            h.push_str(&format!(
                "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&s.key),
                escape(&s.title),
                escape(&r.quantity),
                escape(&r.ours),
                cell(&r.published),
                cell(&r.peer)
            ));
        }
    }
    h.push_str("</table>\n");
    for s in sections {
        h.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n<p>{}</p>\n",
            escape(&s.key),
            escape(&s.title),
            escape(&s.about)
        ));
        for c in &s.commands {
            h.push_str(&format!("<pre>{}</pre>\n", escape(c)));
        }
        h.push_str(
            "<table>\n<tr><th>quantity</th><th>ours</th><th>published</th><th>peer</th></tr>\n",
        );
        for r in &s.rows {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&r.quantity),
                escape(&r.ours),
                cell(&r.published),
                cell(&r.peer)
            ));
        }
        h.push_str(&format!(
            "</table>\n<p><small>{:.2} s; files in <code>{}/</code></small></p>\n",
            s.wall_seconds,
            escape(&s.key)
        ));
        h.push_str("<div class=\"figs\">\n");
        for f in &s.figures {
            h.push_str(&format!(
                "<figure>{}<figcaption>{} (<code>{}</code>)</figcaption></figure>\n",
                strip_xml_header(&f.svg),
                escape(&f.title),
                escape(&f.path)
            ));
        }
        h.push_str("</div>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// A table cell; placeholders, recorded and measured peer numbers are
/// told apart.
fn cell(s: &str) -> String {
    let class = if s.contains("placeholder") || s.starts_with("not measured") {
        "placeholder"
    } else if s.contains("recorded, ") {
        "recorded"
    } else if s.contains("measured in this run") {
        "measured"
    } else {
        return escape(s);
    };
    format!("<span class=\"{class}\">{}</span>", escape(s))
}

/// An SVG document without a leading `<?xml …?>` line, for inlining.
fn strip_xml_header(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// The results as a Markdown table, then the note on the peer column.
pub fn markdown(sections: &[Section], peers: &str) -> String {
    let mut m = String::from(
        "| experiment | quantity | ours | published | peer |\n|---|---|---|---|---|\n",
    );
    for s in sections {
        for r in &s.rows {
            m.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                md_cell(&s.title),
                md_cell(&r.quantity),
                md_cell(&r.ours),
                md_cell(&r.published),
                md_cell(&r.peer)
            ));
        }
    }
    m.push_str(&format!("\nPeers: {}\n", peers.replace('\n', " ")));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> Section {
        Section {
            key: "a".into(),
            title: "A <b>".into(),
            about: "x & y".into(),
            commands: vec!["elbo vblr".into()],
            rows: vec![Row::new("best M", "3", "3 (PRML)", "placeholder: sklearn")],
            figures: vec![ReportFigure {
                title: "f".into(),
                path: "a/f.svg".into(),
                svg: "<?xml version=\"1.0\"?>\n<svg></svg>".into(),
            }],
            wall_seconds: 0.5,
        }
    }

    #[test]
    fn html_is_self_contained_and_escaped() {
        let h = html("T", "intro", "from sklearn", &[section()]);
        assert!(h.contains("<figure><svg></svg>"));
        assert!(!h.contains("<?xml"));
        assert!(h.contains("A &lt;b&gt;") && h.contains("x &amp; y"));
        assert!(h.contains("class=\"placeholder\""));
        assert!(!h.contains("src=") && !h.contains("href=\"http"));
    }

    #[test]
    fn markdown_table() {
        let m = markdown(&[section()], "from sklearn");
        assert_eq!(m.lines().count(), 5);
        assert!(m.ends_with("\nPeers: from sklearn\n"));
        assert!(m.contains("| A <b> | best M | 3 | 3 (PRML) | placeholder: sklearn |"));
    }
}
