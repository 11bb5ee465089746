//! A minimal PNG encoder: 8-bit palette images, filter "Up" per row (charts are mostly
//! flat colour, so rows repeat), zlib via miniz_oxide, CRC-32 by hand.

/// An image of palette indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexed {
    pub width: u32,
    pub height: u32,
    pub palette: Vec<[u8; 3]>,
    pub pixels: Vec<u8>,
}

impl Indexed {
    pub fn new(width: u32, height: u32, palette: Vec<[u8; 3]>) -> Indexed {
        Indexed {
            width,
            height,
            palette,
            pixels: vec![0; width as usize * height as usize],
        }
    }

    pub fn set(&mut self, x: i64, y: i64, colour: u8) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            self.pixels[y as usize * self.width as usize + x as usize] = colour;
        }
    }

    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.pixels[y as usize * self.width as usize + x as usize]
    }

    pub fn encode(&self) -> Vec<u8> {
        let width = self.width as usize;
        let mut raw = Vec::with_capacity((width + 1) * self.height as usize);
        for y in 0..self.height as usize {
            let row = &self.pixels[y * width..(y + 1) * width];
            if y == 0 {
                raw.push(0);
                raw.extend_from_slice(row);
            } else {
                let above = &self.pixels[(y - 1) * width..y * width];
                raw.push(2);
                raw.extend(row.iter().zip(above).map(|(a, b)| a.wrapping_sub(*b)));
            }
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = Vec::with_capacity(13);
        header.extend_from_slice(&self.width.to_be_bytes());
        header.extend_from_slice(&self.height.to_be_bytes());
        header.extend_from_slice(&[8, 3, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &header);
        let palette: Vec<u8> = self.palette.iter().flatten().copied().collect();
        chunk(&mut png, b"PLTE", &palette);
        chunk(
            &mut png,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9),
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn round_trips_through_inflate() {
        let mut img = Indexed::new(3, 2, vec![[0, 0, 0], [255, 255, 255]]);
        img.set(1, 1, 1);
        let png = img.encode();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IDAT: after signature, IHDR (8+13+4) and PLTE (8+6+4).
        let idat = 8 + 25 + 18;
        let len =
            u32::from_be_bytes([png[idat], png[idat + 1], png[idat + 2], png[idat + 3]]) as usize;
        assert_eq!(&png[idat + 4..idat + 8], b"IDAT");
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&png[idat + 8..idat + 8 + len])
            .expect("valid zlib");
        assert_eq!(raw, vec![0, 0, 0, 0, 2, 0, 1, 0]);
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
    }
}
