//! Text in the PNG charts, drawn where and as large as the SVG draws it.
//!
//! The bitmap backend's own text path places each glyph at its advance
//! truncated to a whole pixel and drops the glyph's left side bearing, and
//! it scales the font so that ascent to descent spans the style's size
//! while the SVG sets the em to `size / 1.24`: PNG text came out 9% smaller
//! than the SVG's, with glyphs crowding their left neighbour ("class"
//! reading "dass"). [`TextBitmap`] wraps the bitmap backend and draws text
//! as the SVG backend specifies it: the em at `size / 1.24` pixels, each
//! glyph at its fractional pen position (advances and kerning) with its
//! bearing, the baseline at 0.76 em below a top anchor, 0.5 ex below a
//! centre one and 0.5 ex above a bottom one, and the whole turned about the
//! anchor for rotated labels. Everything else is the bitmap backend's.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::backend::{BitMapBackend, DrawingBackend};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontStyle,
};

/// The bitmap backend with text drawn as the SVG backend lays it out.
pub(super) struct TextBitmap<'a>(pub BitMapBackend<'a>);

type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// The embedded Noto Sans of a style (bold or regular).
fn font(style: FontStyle) -> Option<FontRef<'static>> {
    let bytes = match style {
        FontStyle::Bold => notosans::BOLD_TTF,
        _ => notosans::REGULAR_TTF,
    };
    FontRef::try_from_slice(bytes).ok()
}

/// A run of text laid out as the SVG lays it out: each glyph's coverage
/// pixels relative to the anchor point, before any rotation.
pub(super) fn layout(
    text: &str,
    size: f64,
    style: FontStyle,
    h: HPos,
    v: VPos,
) -> Vec<(i32, i32, f32)> {
    let Some(font) = font(style) else {
        return Vec::new();
    };
    // The SVG's font-size is size / 1.24 px: one em.
    let em = (size / 1.24) as f32;
    let units = font.units_per_em().unwrap_or(1000.0);
    let scale = PxScale::from(em * font.height_unscaled() / units);
    let f = font.as_scaled(scale);
    // The pen positions: advances and kerning, kept fractional.
    let mut pens = Vec::new();
    let mut x = 0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            x += f.kern(p, id);
        }
        pens.push((id, x));
        x += f.h_advance(id);
        prev = Some(id);
    }
    let width = x;
    let x0 = match h {
        HPos::Left => 0.0,
        HPos::Center => -width / 2.0,
        HPos::Right => -width,
    };
    // 1 ex: the height of an `x`, as a browser measures it.
    let ex = f.outline_glyph(f.scaled_glyph('x')).map_or(em * 0.5, |g| {
        let b = g.px_bounds();
        b.max.y - b.min.y
    });
    let baseline = match v {
        VPos::Top => 0.76 * em,
        VPos::Center => 0.5 * ex,
        VPos::Bottom => -0.5 * ex,
    };
    let mut out = Vec::new();
    for (id, pen) in pens {
        let glyph = id.with_scale_and_position(scale, point(x0 + pen, baseline));
        if let Some(g) = f.outline_glyph(glyph) {
            let b = g.px_bounds();
            let (bx, by) = (b.min.x as i32, b.min.y as i32);
            g.draw(|gx, gy, c| out.push((bx + gx as i32, by + gy as i32, c)));
        }
    }
    out
}

impl DrawingBackend for TextBitmap<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.0.blit_bitmap(pos, (iw, ih), src)
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let anchor = style.anchor();
        let trans = style.transform();
        for (x, y, c) in layout(
            text,
            style.size(),
            style.style(),
            anchor.h_pos,
            anchor.v_pos,
        ) {
            let (x, y) = trans.transform(x, y);
            let mut px = color;
            px.alpha *= f64::from(c.clamp(0.0, 1.0));
            self.0.draw_pixel((pos.0 + x, pos.1 + y), px)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    /// Columns of a grey buffer with ink (darker than mid-grey) in them.
    fn inked_columns(rgb: &[u8], (w, h): (u32, u32)) -> Vec<bool> {
        (0..w as usize)
            .map(|x| (0..h as usize).any(|y| rgb[(y * w as usize + x) * 3] < 128))
            .collect()
    }

    /// Where the font's metrics put a glyph's ink, at the SVG's size, when
    /// `text` is laid out from `x0` (its pen positions by advance and
    /// kerning, its outline bounds with the bearing): `(left, right)` px.
    fn ink_box(text: &str, size: f64, x0: f32, i: usize) -> (f32, f32) {
        let font = FontRef::try_from_slice(notosans::REGULAR_TTF).unwrap();
        let em = (size / 1.24) as f32;
        let scale = PxScale::from(em * font.height_unscaled() / font.units_per_em().unwrap());
        let f = font.as_scaled(scale);
        let mut pen = x0;
        let mut prev = None;
        for (k, c) in text.chars().enumerate() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                pen += f.kern(p, id);
            }
            if k == i {
                let g = f
                    .outline_glyph(id.with_scale_and_position(scale, point(pen, 0.0)))
                    .unwrap();
                let b = g.px_bounds();
                return (b.min.x, b.max.x);
            }
            pen += f.h_advance(id);
            prev = Some(id);
        }
        unreachable!()
    }

    /// The PNG's text is the SVG's: as wide as the font's advances make it
    /// at the SVG's `size / 1.24` px em, each glyph's ink where its pen
    /// position and bearing put it, and a clear column between `c` and `l`
    /// (the bitmap backend's own path drew text 9% small with each glyph's
    /// bearing dropped: "class" read "dass").
    #[test]
    fn png_text_lands_where_the_svg_puts_it() {
        super::super::ensure_fonts().unwrap();
        let (w, h) = (300u32, 40u32);
        let size = 20.0;
        let text = "class read";
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = TextBitmap(BitMapBackend::with_buffer(&mut rgb, (w, h))).into_drawing_area();
            root.draw_text(
                text,
                &("sans-serif", size).into_font().color(&BLACK),
                (10, 5),
            )
            .unwrap();
            root.present().unwrap();
        }
        let ink = inked_columns(&rgb, (w, h));
        let first = ink.iter().position(|&x| x).unwrap() as f32;
        let last = ink.iter().rposition(|&x| x).unwrap() as f32;
        let (c_left, c_right) = ink_box(text, size, 10.0, 0);
        let (l_left, _) = ink_box(text, size, 10.0, 1);
        let (_, d_right) = ink_box(text, size, 10.0, text.len() - 1);
        assert!(
            (first - c_left).abs() <= 1.0,
            "first ink {first}, metrics {c_left}"
        );
        assert!(
            (last + 1.0 - d_right).abs() <= 1.0,
            "last ink {last}, metrics {d_right}"
        );
        // Between the `c` and the `l`, a column with no ink.
        let gap = (c_right.ceil() as usize..l_left.floor() as usize + 1).any(|x| !ink[x]);
        assert!(
            gap,
            "c ends at {c_right}, l starts at {l_left}: {:?}",
            &ink[10..40]
        );
    }
}
