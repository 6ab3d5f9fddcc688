//! Grids of grey-level images (reconstructions, samples, the latent
//! manifold) as SVG documents holding one embedded PNG.
//!
//! A run's figures are SVG text ([`crate::cmd::FigureFile`]), so the grid
//! is an `<image>` whose source is a `data:image/png;base64,…` URI: one
//! self-contained file that any browser and the report show, scaled up
//! with `image-rendering: pixelated`. The PNG is written here without a
//! dependency: 8-bit greyscale, the pixel rows in stored (uncompressed)
//! deflate blocks, CRC-32 and Adler-32 as the PNG and zlib specifications
//! define them.

/// A grid of `count` images of `rows × cols` pixels in [0, 1] (row-major,
/// one after the other in `pixels`), `grid_cols` images per row of the
/// grid, separated by a 1-pixel grey line.
#[derive(Debug, Clone)]
pub struct ImageGrid<'a> {
    /// Pixel values in [0, 1] (clamped), `count · rows · cols`.
    pub pixels: &'a [f32],
    /// Images in the grid.
    pub count: usize,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
    /// Images per grid row.
    pub grid_cols: usize,
}

impl ImageGrid<'_> {
    /// The grid as a greyscale raster: (width, height, bytes).
    pub fn raster(&self) -> (usize, usize, Vec<u8>) {
        let gc = self.grid_cols.max(1);
        let gr = self.count.div_ceil(gc);
        let w = gc * (self.cols + 1) + 1;
        let h = gr * (self.rows + 1) + 1;
        let mut img = vec![128u8; w * h];
        let d = self.rows * self.cols;
        for i in 0..self.count {
            let (gy, gx) = (i / gc, i % gc);
            let Some(src) = self.pixels.get(i * d..(i + 1) * d) else {
                break;
            };
            for r in 0..self.rows {
                for c in 0..self.cols {
                    let v = src[r * self.cols + c];
                    let v = if v.is_finite() {
                        v.clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let y = gy * (self.rows + 1) + 1 + r;
                    let x = gx * (self.cols + 1) + 1 + c;
                    img[y * w + x] = (v * 255.0).round() as u8;
                }
            }
        }
        (w, h, img)
    }

    /// An SVG document showing the grid `scale` times enlarged under
    /// `title`.
    pub fn to_svg(&self, title: &str, scale: usize) -> String {
        let (w, h, img) = self.raster();
        let png = png_grey(w, h, &img);
        let (sw, sh) = (w * scale, h * scale);
        let top = 28;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{tw}\" height=\"{th}\" viewBox=\"0 0 {tw} {th}\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{cx}\" y=\"19\" font-family=\"sans-serif\" font-size=\"15\" text-anchor=\"middle\">{t}</text>\n\
             <image x=\"10\" y=\"{top}\" width=\"{sw}\" height=\"{sh}\" style=\"image-rendering:pixelated\" \
             preserveAspectRatio=\"none\" href=\"data:image/png;base64,{b64}\"/>\n</svg>\n",
            tw = sw + 20,
            th = sh + top + 10,
            cx = (sw + 20) / 2,
            t = escape(title),
            b64 = base64(&png),
        )
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An 8-bit greyscale PNG of `w × h` pixels.
pub fn png_grey(w: usize, h: usize, img: &[u8]) -> Vec<u8> {
    assert_eq!(img.len(), w * h, "a {w}×{h} image");
    let mut raw = Vec::with_capacity(h * (w + 1));
    for row in img.chunks(w.max(1)) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8 bits, greyscale, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks (RFC 1950/1951).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    let last = blocks.len() - 1;
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i == last));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    z.extend_from_slice(&adler32(data).to_be_bytes());
    z
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                s.push(T[((n >> shift) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation,
/// relative error below 1.2·10⁻⁹), for the latent-manifold grid of Kingma &
/// Welling (2014) Fig. 4.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn png_has_signature_header_and_stored_data() {
        let png = png_grey(3, 2, &[0, 128, 255, 10, 20, 30]);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 3);
        assert!(png.windows(4).any(|w| w == b"IEND"));
        // A large image needs several stored blocks.
        let big = png_grey(300, 300, &vec![7u8; 90_000]);
        assert!(big.len() > 90_000);
    }

    #[test]
    fn grid_places_images_with_borders() {
        let px = [1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5];
        let g = ImageGrid {
            pixels: &px,
            count: 2,
            rows: 2,
            cols: 2,
            grid_cols: 2,
        };
        let (w, h, img) = g.raster();
        assert_eq!((w, h), (7, 4));
        assert_eq!(img[w + 1], 255); // first image, top-left pixel
        assert_eq!(img[w + 2], 0);
        assert_eq!(img[w + 4], 128); // second image
        assert!(g.to_svg("a <grid>", 4).contains("data:image/png;base64,"));
    }

    #[test]
    fn normal_quantiles() {
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-8);
    }
}
