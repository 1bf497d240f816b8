//! A plain A4 PDF report of headings and lines of text, as handed to a person in a data
//! protection export ("everything held about one person").
//!
//! The report uses the standard-14 fonts Helvetica and Helvetica-Bold (not embedded) with
//! WinAnsiEncoding: text is encoded to Windows-1252, characters outside it become `?`. Lines
//! wrap at word boundaries, measured with the fonts' AFM widths; words longer than a line are
//! broken. Content streams are not compressed and the output has no timestamps, so equal input
//! gives equal bytes.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// A report: a title and subtitle on the first page, then the sections.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub title: &'a str,
    /// Shown under the title and in every page's footer.
    pub subtitle: &'a str,
    pub sections: &'a [Section],
}

/// A heading and the lines below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub lines: Vec<Line>,
}

/// One entry of a section. Text may contain line breaks; long text wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `label: value`, the label in bold.
    Field {
        label: String,
        value: String,
    },
    Text(String),
    /// An empty line.
    Blank,
}

/// A4 portrait, in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
/// 20 mm.
const MARGIN: f32 = 56.69;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// The top of the first line box.
const TOP: f32 = PAGE_H - MARGIN;
/// The footer's baseline; content stays above `CONTENT_BOTTOM`.
const FOOTER_Y: f32 = MARGIN;
const CONTENT_BOTTOM: f32 = MARGIN + 18.0;

const TITLE_SIZE: f32 = 16.0;
const SUBTITLE_SIZE: f32 = 10.0;
const HEADING_SIZE: f32 = 12.0;
const BODY_SIZE: f32 = 9.5;
const FOOTER_SIZE: f32 = 8.0;
const BODY_LEADING: f32 = 12.5;
const HEADING_LEADING: f32 = 16.0;
const HEADING_SPACE_ABOVE: f32 = 10.0;
/// The indent of a field's continuation lines when its label is too wide to hang them under
/// the value.
const FIELD_INDENT: f32 = 12.0;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// The two fonts of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => REGULAR,
            Font::Bold => BOLD,
        }
    }

    /// The advance width of a WinAnsi byte, in 1/1000 em (Adobe's AFM metrics).
    fn glyph_width(self, byte: u8) -> u32 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        // Control bytes never reach here (see `encode`); give them a space's width.
        byte.checked_sub(32).map_or(278, |i| u32::from(table[usize::from(i)]))
    }

    /// The width of WinAnsi-encoded text at `size`, in points.
    fn width(self, text: &[u8], size: f32) -> f32 {
        let units: u32 = text.iter().map(|&b| self.glyph_width(b)).sum();
        units as f32 * size / 1000.0
    }
}

/// Helvetica widths for WinAnsi code points 32..=255 (undefined points as the bullet).
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Helvetica-Bold widths for WinAnsi code points 32..=255 (undefined points as the bullet).
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350,
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667,
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

/// The Windows-1252 specials at 0x80..=0x9F (0x81, 0x8D, 0x8F, 0x90 and 0x9D are undefined).
const WIN_ANSI_SPECIALS: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

/// Precomposed forms of a base letter and a combining mark, for decomposed (NFD) input such as
/// `u` + U+0308: each string lists base letter and composed letter in pairs.
const COMPOSITIONS: [(char, &str); 8] = [
    ('\u{0300}', "AÀEÈIÌOÒUÙaàeèiìoòuù"),
    ('\u{0301}', "AÁEÉIÍOÓUÚYÝaáeéiíoóuúyý"),
    ('\u{0302}', "AÂEÊIÎOÔUÛaâeêiîoôuû"),
    ('\u{0303}', "AÃNÑOÕaãnñoõ"),
    ('\u{0308}', "AÄEËIÏOÖUÜYŸaäeëiïoöuüyÿ"),
    ('\u{030A}', "AÅaå"),
    ('\u{030C}', "SŠZŽsšzž"),
    ('\u{0327}', "CÇcç"),
];

fn compose(base: char, mark: char) -> Option<char> {
    let (_, pairs) = COMPOSITIONS.iter().find(|(m, _)| *m == mark)?;
    let mut chars = pairs.chars();
    while let (Some(b), Some(composed)) = (chars.next(), chars.next()) {
        if b == base {
            return Some(composed);
        }
    }
    None
}

/// One character in Windows-1252, if it has a glyph there; whitespace becomes a space (or a
/// no-break space), a few dashes become `-`.
fn win_ansi(c: char) -> Option<u8> {
    match c {
        '\t' | '\n' | '\r' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200A}' => Some(b' '),
        '\u{2007}' | '\u{202F}' => Some(0xA0),
        '\u{2010}' | '\u{2011}' | '\u{2212}' => Some(b'-'),
        ' '..='~' => u8::try_from(c).ok(),
        '\u{A0}'..='\u{FF}' => u8::try_from(c).ok(),
        _ => WIN_ANSI_SPECIALS.iter().find(|(special, _)| *special == c).map(|&(_, byte)| byte),
    }
}

/// Text in Windows-1252 (the PDF's WinAnsiEncoding), one byte per glyph; characters outside
/// it become `?`. Zero-width characters and soft hyphens are dropped.
fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') {
            continue;
        }
        if let Some(composed) = prev.and_then(|base| compose(base, c))
            && let Some(byte) = win_ansi(composed)
        {
            out.pop();
            out.push(byte);
            prev = None;
            continue;
        }
        out.push(win_ansi(c).unwrap_or(b'?'));
        prev = Some(c);
    }
    out
}

/// Wraps WinAnsi-encoded text into lines no wider than `width` at `size`: at spaces where
/// possible, inside words longer than a line otherwise. Runs of spaces collapse. Always at
/// least one (possibly empty) line.
fn wrap(text: &[u8], font: Font, size: f32, width: f32) -> Vec<Vec<u8>> {
    let fits = |line: &[u8]| font.width(line, size) <= width;
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() {
            let mut candidate = line.clone();
            candidate.push(b' ');
            candidate.extend_from_slice(word);
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            lines.push(std::mem::take(&mut line));
        }
        // `line` is empty: the word starts a line, broken if longer than one.
        for &byte in word {
            line.push(byte);
            if line.len() > 1 && !fits(&line) {
                line.pop();
                lines.push(std::mem::replace(&mut line, vec![byte]));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text placed on a page: its baseline starts at (`x`, `y`).
struct Run {
    font: Font,
    size: f32,
    x: f32,
    y: f32,
    text: Vec<u8>,
}

/// Text of one line before placement: font, size, x offset from the margin, text.
type Piece = (Font, f32, f32, Vec<u8>);

/// Lines placed top to bottom, onto new pages when full.
struct Layout {
    pages: Vec<Vec<Run>>,
    /// The top of the next line box on the last page.
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self { pages: vec![Vec::new()], y: TOP }
    }

    fn at_page_top(&self) -> bool {
        self.pages.last().is_none_or(Vec::is_empty)
    }

    /// Starts a new page unless `height` more fits on this one (or this one is empty).
    fn ensure(&mut self, height: f32) {
        if self.y - height < CONTENT_BOTTOM && !self.at_page_top() {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    /// Vertical space, dropped at the top of a page.
    fn space(&mut self, height: f32) {
        if !self.at_page_top() {
            self.y -= height;
        }
    }

    /// One line of `leading` height made of runs `(font, size, x offset, text)`.
    fn line(&mut self, leading: f32, runs: Vec<Piece>) {
        self.ensure(leading);
        let size = runs.iter().map(|r| r.1).fold(0.0, f32::max);
        // The baseline, so that ascenders stay in the line box.
        let y = self.y - (leading + size * 0.6) / 2.0;
        let Some(page) = self.pages.last_mut() else {
            return;
        };
        if runs.iter().all(|r| r.3.is_empty()) {
            // Nothing to show, but the page is no longer empty.
            page.push(Run { font: Font::Regular, size, x: MARGIN, y, text: Vec::new() });
        }
        for (font, size, dx, text) in runs.into_iter().filter(|r| !r.3.is_empty()) {
            page.push(Run { font, size, x: MARGIN + dx, y, text });
        }
        self.y -= leading;
    }

    /// Wrapped text in one font across the text width, each paragraph on new lines.
    fn paragraphs(&mut self, text: &str, font: Font, size: f32, leading: f32) {
        for paragraph in text.split('\n') {
            for line in wrap(&encode(paragraph), font, size, TEXT_W) {
                self.line(leading, vec![(font, size, 0.0, line)]);
            }
        }
    }

    fn field(&mut self, label: &str, value: &str) {
        let mut label = encode(label);
        label.push(b':');
        let label_w = Font::Bold.width(&label, BODY_SIZE) + Font::Regular.width(b" ", BODY_SIZE);
        let paragraphs: Vec<Vec<u8>> = value.split('\n').map(encode).collect();
        let mut lines: Vec<Vec<Piece>> = Vec::new();
        if label_w <= TEXT_W * 0.4 {
            // The value beside the label, continuation lines hanging under it.
            let width = TEXT_W - label_w;
            for paragraph in &paragraphs {
                for line in wrap(paragraph, Font::Regular, BODY_SIZE, width) {
                    let mut runs = Vec::new();
                    if lines.is_empty() {
                        runs.push((Font::Bold, BODY_SIZE, 0.0, label.clone()));
                    }
                    runs.push((Font::Regular, BODY_SIZE, label_w, line));
                    lines.push(runs);
                }
            }
        } else {
            // A long label on lines of its own, the value indented below.
            for line in wrap(&label, Font::Bold, BODY_SIZE, TEXT_W) {
                lines.push(vec![(Font::Bold, BODY_SIZE, 0.0, line)]);
            }
            let width = TEXT_W - FIELD_INDENT;
            for paragraph in &paragraphs {
                for line in wrap(paragraph, Font::Regular, BODY_SIZE, width) {
                    lines.push(vec![(Font::Regular, BODY_SIZE, FIELD_INDENT, line)]);
                }
            }
        }
        for runs in lines {
            self.line(BODY_LEADING, runs);
        }
    }
}

/// `text` cut to `max` points wide at `size`, ending in an ellipsis when cut.
fn truncate(text: &[u8], font: Font, size: f32, max: f32) -> Vec<u8> {
    if font.width(text, size) <= max {
        return text.to_vec();
    }
    let mut out = text.to_vec();
    while !out.is_empty() && font.width(&out, size) + font.width(&[0x85], size) > max {
        out.pop();
    }
    out.push(0x85);
    out
}

fn lay_out(report: &Report<'_>) -> Vec<Vec<Run>> {
    let mut layout = Layout::new();
    layout.paragraphs(report.title, Font::Bold, TITLE_SIZE, 20.0);
    if !report.subtitle.is_empty() {
        layout.paragraphs(report.subtitle, Font::Regular, SUBTITLE_SIZE, 14.0);
    }
    layout.space(6.0);
    for section in report.sections {
        layout.space(HEADING_SPACE_ABOVE);
        // Keep the heading with its first line.
        layout.ensure(HEADING_LEADING + BODY_LEADING);
        layout.paragraphs(&section.heading, Font::Bold, HEADING_SIZE, HEADING_LEADING);
        layout.space(2.0);
        for line in &section.lines {
            match line {
                Line::Field { label, value } => layout.field(label, value),
                Line::Text(text) => layout.paragraphs(text, Font::Regular, BODY_SIZE, BODY_LEADING),
                Line::Blank => layout.line(BODY_LEADING, Vec::new()),
            }
        }
    }
    layout.pages
}

/// An object id: catalog, page tree, fonts and info first, then each page and its content.
fn id(n: usize) -> Ref {
    Ref::new(i32::try_from(n).unwrap_or(i32::MAX))
}

const CATALOG: usize = 1;
const PAGE_TREE: usize = 2;
const FONT_REGULAR: usize = 3;
const FONT_BOLD: usize = 4;
const INFO: usize = 5;
const FIRST_PAGE: usize = 6;

/// The report as a PDF file.
pub fn render(report: &Report<'_>) -> Vec<u8> {
    let pages = lay_out(report);
    let total = pages.len();
    let page_ids: Vec<Ref> = (0..total).map(|i| id(FIRST_PAGE + 2 * i)).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(id(CATALOG)).pages(id(PAGE_TREE));
    pdf.pages(id(PAGE_TREE))
        .kids(page_ids.iter().copied())
        .count(i32::try_from(total).unwrap_or(i32::MAX));
    for (font_id, base) in [(FONT_REGULAR, "Helvetica"), (FONT_BOLD, "Helvetica-Bold")] {
        pdf.type1_font(id(font_id))
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(id(INFO)).title(TextStr(report.title)).producer(TextStr("Retour"));

    let subtitle = encode(report.subtitle);
    for (i, runs) in pages.iter().enumerate() {
        let content_id = id(FIRST_PAGE + 2 * i + 1);
        let mut page = pdf.page(page_ids[i]);
        page.parent(id(PAGE_TREE))
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_id);
        page.resources().fonts().pair(REGULAR, id(FONT_REGULAR)).pair(BOLD, id(FONT_BOLD));
        page.finish();

        let mut content = Content::new();
        content.begin_text();
        let mut show = |font: Font, size: f32, x: f32, y: f32, text: &[u8]| {
            content
                .set_font(font.name(), size)
                .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
                .show(Str(text));
        };
        for run in runs.iter().filter(|r| !r.text.is_empty()) {
            show(run.font, run.size, run.x, run.y, &run.text);
        }
        let number = format!("Page {} of {total}", i + 1);
        let number_w = Font::Regular.width(number.as_bytes(), FOOTER_SIZE);
        let footer = truncate(&subtitle, Font::Regular, FOOTER_SIZE, TEXT_W - number_w - 12.0);
        if !footer.is_empty() {
            show(Font::Regular, FOOTER_SIZE, MARGIN, FOOTER_Y, &footer);
        }
        show(Font::Regular, FOOTER_SIZE, PAGE_W - MARGIN - number_w, FOOTER_Y, number.as_bytes());
        content.end_text();
        pdf.stream(content_id, content.finish().as_slice());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_report(sections: &[Section]) -> Vec<u8> {
        render(&Report {
            title: "Data protection export",
            subtitle: "Everything held about one person",
            sections,
        })
    }

    fn section(lines: Vec<Line>) -> Section {
        Section { heading: "Person".into(), lines }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// The decoded bytes of every string in the file, literal `(…)` and hex `<…>`.
    fn strings(pdf: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < pdf.len() {
            match pdf[i] {
                b'<' if pdf.get(i + 1) == Some(&b'<') => i += 2,
                b'<' => {
                    let end = i + pdf[i..].iter().position(|&b| b == b'>').expect("hex end");
                    let hex: Vec<u8> =
                        pdf[i + 1..end].iter().copied().filter(u8::is_ascii_hexdigit).collect();
                    let decoded = hex
                        .chunks(2)
                        .map(|pair| {
                            u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16)
                                .expect("hex digit")
                        })
                        .collect();
                    out.push(decoded);
                    i = end + 1;
                }
                b'(' => {
                    let mut depth = 1;
                    let mut s = Vec::new();
                    i += 1;
                    while depth > 0 {
                        let b = pdf[i];
                        i += 1;
                        match b {
                            b'\\' => {
                                let e = pdf[i];
                                i += 1;
                                s.push(match e {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    b'b' => 0x08,
                                    b'f' => 0x0C,
                                    b'0'..=b'7' => {
                                        let digits = &pdf[i - 1..i + 2];
                                        i += 2;
                                        digits.iter().fold(0u8, |n, d| n * 8 + (d - b'0'))
                                    }
                                    other => other,
                                });
                            }
                            b'(' => {
                                depth += 1;
                                s.push(b);
                            }
                            b')' => {
                                depth -= 1;
                                if depth > 0 {
                                    s.push(b);
                                }
                            }
                            _ => s.push(b),
                        }
                    }
                    out.push(s);
                }
                _ => i += 1,
            }
        }
        out
    }

    fn page_count(pdf: &[u8]) -> usize {
        let needle = b"/Type /Page";
        pdf.windows(needle.len() + 1)
            .filter(|w| w.starts_with(needle) && w[needle.len()] != b's')
            .count()
    }

    fn ends_with_eof(pdf: &[u8]) -> bool {
        pdf.trim_ascii_end().ends_with(b"%%EOF")
    }

    #[test]
    fn is_a_pdf_file() {
        let pdf = text_report(&[section(vec![Line::Text("Hello".into())])]);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(ends_with_eof(&pdf));
        assert!(contains(&pdf, b"/BaseFont /Helvetica-Bold"));
        assert!(contains(&pdf, b"/Encoding /WinAnsiEncoding"));
        assert!(contains(&pdf, b"/Producer (Retour)"));
        assert!(contains(&pdf, b"/Title (Data protection export)"));
        assert!(!contains(&pdf, b"/Filter"), "content streams are not compressed");
        assert_eq!(page_count(&pdf), 1);
        assert!(contains(&pdf, b"(Page 1 of 1)"));
    }

    #[test]
    fn equal_input_gives_equal_bytes() {
        let sections = [section(vec![Line::Field { label: "Name".into(), value: "Ana".into() }])];
        assert_eq!(text_report(&sections), text_report(&sections));
    }

    #[test]
    fn long_reports_break_into_numbered_pages() {
        let lines = (0..300).map(|i| Line::Text(format!("Line {i}"))).collect();
        let pdf = text_report(&[section(lines)]);
        let pages = page_count(&pdf);
        assert!(pages >= 3, "{pages} pages");
        for n in 1..=pages {
            assert!(contains(&pdf, format!("(Page {n} of {pages})").as_bytes()), "page {n}");
        }
        assert!(!contains(&pdf, format!("Page {} of", pages + 1).as_bytes()));
        assert!(!contains(&pdf, format!("of {})", pages + 1).as_bytes()));
        assert!(contains(&pdf, b"(Line 0)") && contains(&pdf, b"(Line 299)"));
        assert!(ends_with_eof(&pdf));
    }

    #[test]
    fn ascii_values_appear_verbatim() {
        let pdf = text_report(&[section(vec![Line::Field {
            label: "Reference".into(),
            value: "Canary-XK42".into(),
        }])]);
        assert!(contains(&pdf, b"Canary-XK42"));
        assert!(contains(&pdf, b"(Reference:)"));
    }

    #[test]
    fn text_is_encoded_as_win_ansi() {
        let muller = [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72];
        assert_eq!(encode("Müller"), muller);
        assert_eq!(encode("Mu\u{0308}ller"), muller, "decomposed input is composed");
        assert_eq!(
            encode("€ ‘a’ “b” – — … Œ ž"),
            b"\x80 \x91a\x92 \x93b\x94 \x96 \x97 \x85 \x8C \x9E"
        );
        let pdf = text_report(&[section(vec![Line::Field {
            label: "Name".into(),
            value: "Müller".into(),
        }])]);
        // pdf-writer writes non-ASCII strings in hex.
        assert!(contains(&pdf, b"<4DFC6C6C6572>"));
        assert!(strings(&pdf).iter().any(|s| contains(s, &muller)));
    }

    #[test]
    fn characters_outside_win_ansi_become_question_marks() {
        assert_eq!(encode("Ж"), b"?");
        assert_eq!(encode("a\u{1F600}b\u{0007}"), b"a?b?");
        let pdf = text_report(&[section(vec![Line::Text("Ivan Жанна".into())])]);
        assert!(contains(&pdf, b"(Ivan ?????)"));
    }

    #[test]
    fn words_longer_than_a_line_are_broken() {
        let word = "W".repeat(200);
        let lines = wrap(word.as_bytes(), Font::Regular, BODY_SIZE, TEXT_W);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(Font::Regular.width(line, BODY_SIZE) <= TEXT_W);
        }
        assert_eq!(lines.concat(), word.as_bytes());

        let text = format!("short {word} end");
        let lines = wrap(text.as_bytes(), Font::Regular, BODY_SIZE, TEXT_W);
        assert_eq!(lines[0], b"short");
        assert!(lines.iter().all(|l| Font::Regular.width(l, BODY_SIZE) <= TEXT_W));
        assert!(lines.last().is_some_and(|l| l.ends_with(b" end")));
    }

    #[test]
    fn lines_wrap_at_word_boundaries() {
        let text = "lorem ipsum dolor sit amet ".repeat(40);
        let lines = wrap(text.as_bytes(), Font::Regular, BODY_SIZE, 200.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| Font::Regular.width(l, BODY_SIZE) <= 200.0));
        let words: Vec<&[u8]> = lines.iter().flat_map(|l| l.split(|&b| b == b' ')).collect();
        assert!(words.iter().all(|w| {
            ["lorem", "ipsum", "dolor", "sit", "amet"].iter().any(|k| k.as_bytes() == *w)
        }));
        assert_eq!(wrap(b"", Font::Bold, BODY_SIZE, TEXT_W), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn string_delimiters_are_escaped() {
        let unbalanced = r"Note (see C:\dir) and ) stray";
        let balanced = r"f(x) = C:\tmp";
        let pdf = text_report(&[section(vec![
            Line::Text(unbalanced.into()),
            Line::Field { label: "Path".into(), value: balanced.into() },
        ])]);
        assert!(ends_with_eof(&pdf));
        assert!(contains(&pdf, br"(Note \(see C:\\dir\) and \) stray)"));
        assert!(contains(&pdf, br"(f(x) = C:\\tmp)"));
        let strings = strings(&pdf);
        assert!(strings.iter().any(|s| s == unbalanced.as_bytes()));
        assert!(strings.iter().any(|s| s == balanced.as_bytes()));
    }
}
