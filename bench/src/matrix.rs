//! Seeded dense cost matrices, and the file both solvers read them from:
//! 8 bytes of magic `CPMAT1\0\0`, rows and cols as little-endian u64, then
//! rows x cols little-endian f64 in row-major order (numpy reads it with
//! `np.fromfile(path, "<f8", offset=24)`).

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"CPMAT1\0\0";

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, enough for
/// reproducible benchmark inputs without a dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0), with negligible bias for small n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub cost: Vec<f64>,
}

impl Matrix {
    /// Dense costs uniform in [0, 1000), from `seed`.
    pub fn random(rows: usize, cols: usize, seed: u64) -> Matrix {
        let mut rng = SplitMix64::new(seed);
        let cost = (0..rows * cols).map(|_| rng.unit() * 1000.0).collect();
        Matrix { rows, cols, cost }
    }

    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::new(std::fs::File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&(self.rows as u64).to_le_bytes())?;
        out.write_all(&(self.cols as u64).to_le_bytes())?;
        for c in &self.cost {
            out.write_all(&c.to_le_bytes())?;
        }
        out.flush()
    }

    /// Reads a matrix file straight into its final buffer (no second copy,
    /// so peak memory is the matrix itself).
    pub fn read(path: &Path) -> io::Result<Matrix> {
        let mut input = BufReader::new(std::fs::File::open(path)?);
        let mut header = [0u8; 24];
        input.read_exact(&mut header)?;
        if &header[..8] != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a CPMAT1 matrix file",
            ));
        }
        let word = |k: usize| u64::from_le_bytes(header[k..k + 8].try_into().expect("8 bytes"));
        let (rows, cols) = (word(8) as usize, word(16) as usize);
        let len = rows
            .checked_mul(cols)
            .filter(|&n| n <= 1 << 32)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "matrix too large"))?;
        let mut cost = Vec::with_capacity(len);
        let mut buf = [0u8; 8];
        for _ in 0..len {
            input.read_exact(&mut buf)?;
            cost.push(f64::from_le_bytes(buf));
        }
        Ok(Matrix { rows, cols, cost })
    }

    /// Total cost of an assignment (`col_of_row[row]`).
    pub fn total(&self, col_of_row: &[Option<usize>]) -> f64 {
        col_of_row
            .iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| self.cost[r * self.cols + c]))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_matrix_reads_back_identical() {
        let m = Matrix::random(3, 5, 7);
        let path = std::env::temp_dir().join(format!("cpmat-test-{}.bin", std::process::id()));
        m.write(&path).unwrap();
        let back = Matrix::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn the_same_seed_gives_the_same_matrix() {
        assert_eq!(Matrix::random(4, 4, 1), Matrix::random(4, 4, 1));
        assert_ne!(Matrix::random(4, 4, 1), Matrix::random(4, 4, 2));
    }
}
